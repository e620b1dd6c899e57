/* pvlab Linux shim (MIT, ours): dynamic per-CPU data (<linux/percpu.h>). alloc_percpu(type) is an
 * array of nr_cpu_ids elements from the page allocator; CPU n's copy is element n. (Static
 * DEFINE_PER_CPU variables are not provided: see the shim README to add them.) */
#ifndef PVLAB_SHIM_LINUX_PERCPU_H
#define PVLAB_SHIM_LINUX_PERCPU_H

#include <linux/types.h>
#include <linux/smp.h>

void *__pvlab_alloc_percpu(size_t size, size_t align);

#define alloc_percpu(type) ((type *)__pvlab_alloc_percpu(sizeof(type), __alignof__(type)))
#define alloc_percpu_gfp(type, gfp) alloc_percpu(type)
#define free_percpu(ptr) do { (void)(ptr); } while (0)
#define per_cpu_ptr(ptr, cpu) (&(ptr)[(cpu)])
#define this_cpu_ptr(ptr) per_cpu_ptr(ptr, smp_processor_id())
#define raw_cpu_ptr(ptr) this_cpu_ptr(ptr)

#endif
