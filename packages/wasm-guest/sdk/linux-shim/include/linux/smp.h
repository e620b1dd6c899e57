/* pvlab Linux shim (MIT, ours): the CPU number (<linux/smp.h>): the SDK's vCPU index. The shim has
 * no preemption, so get_cpu()/put_cpu() only read it. */
#ifndef PVLAB_SHIM_LINUX_SMP_H
#define PVLAB_SHIM_LINUX_SMP_H

#include <pvlab/guest.h>

#define smp_processor_id() ((unsigned int)pvlab_cpu())
#define raw_smp_processor_id() smp_processor_id()
#define get_cpu() smp_processor_id()
#define put_cpu() do { } while (0)
#define preempt_disable() barrier()
#define preempt_enable() barrier()

#endif
