/* pvlab Linux shim (MIT, ours): local interrupt masking (<linux/irqflags.h>) through the SDK: a
 * pending interrupt is delivered when a restore or enable opens the window again. */
#ifndef PVLAB_SHIM_LINUX_IRQFLAGS_H
#define PVLAB_SHIM_LINUX_IRQFLAGS_H

#include <pvlab/guest.h>

#define local_irq_save(flags) do { (flags) = pvlab_irq_save(); } while (0)
#define local_irq_restore(flags) pvlab_irq_restore(flags)
#define local_irq_disable() pvlab_irq_disable()
#define local_irq_enable() pvlab_irq_enable()
#define irqs_disabled() (!pvlab_irqs_enabled())
#define raw_local_irq_save(flags) local_irq_save(flags)
#define raw_local_irq_restore(flags) local_irq_restore(flags)
#define local_save_flags(flags) do { (flags) = pvlab_irqs_enabled() ? 0x200UL : 0UL; } while (0)
/* STI; HLT: returns once an interrupt was delivered. */
#define safe_halt() pvlab_halt()

#endif
