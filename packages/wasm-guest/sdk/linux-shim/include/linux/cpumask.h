/* pvlab Linux shim (MIT, ours): CPU masks (<linux/cpumask.h>). The VM's vCPUs 0..n-1 are possible,
 * present and online from boot (no hotplug): nr_cpu_ids = n, set by shim_boot(). */
#ifndef PVLAB_SHIM_LINUX_CPUMASK_H
#define PVLAB_SHIM_LINUX_CPUMASK_H

#include <linux/types.h>
#include <linux/bitops.h>

#define NR_CPUS CONFIG_NR_CPUS

struct cpumask {
	DECLARE_BITMAP(bits, NR_CPUS);
};
typedef struct cpumask cpumask_t;
typedef struct cpumask cpumask_var_t[1];

extern unsigned int nr_cpu_ids;
extern struct cpumask __pvlab_cpu_all_mask;
#define cpu_possible_mask ((const struct cpumask *)&__pvlab_cpu_all_mask)
#define cpu_present_mask cpu_possible_mask
#define cpu_online_mask cpu_possible_mask
#define cpu_active_mask cpu_possible_mask

#define cpumask_bits(mask) ((mask)->bits)
#define cpumask_size() sizeof(struct cpumask)

/* A mask of `cpu` alone, in this CPU's scratch area: valid until this CPU asks for the next one. */
const struct cpumask *__pvlab_cpumask_of(unsigned int cpu);
#define cpumask_of(cpu) __pvlab_cpumask_of(cpu)

static inline void cpumask_set_cpu(unsigned int cpu, struct cpumask *m) { set_bit(cpu, m->bits); }
static inline void __cpumask_set_cpu(unsigned int cpu, struct cpumask *m) { __set_bit(cpu, m->bits); }
static inline void cpumask_clear_cpu(unsigned int cpu, struct cpumask *m) { clear_bit(cpu, m->bits); }
static inline void __cpumask_clear_cpu(unsigned int cpu, struct cpumask *m) { __clear_bit(cpu, m->bits); }
static inline bool cpumask_test_cpu(int cpu, const struct cpumask *m) { return test_bit(cpu, m->bits); }
static inline void cpumask_clear(struct cpumask *m) { bitmap_zero(m->bits, NR_CPUS); }
static inline void cpumask_copy(struct cpumask *dst, const struct cpumask *src) { *dst = *src; }
static inline bool cpumask_equal(const struct cpumask *a, const struct cpumask *b)
{
	return bitmap_equal(a->bits, b->bits, nr_cpu_ids);
}
static inline unsigned int cpumask_weight(const struct cpumask *m) { return bitmap_weight(m->bits, nr_cpu_ids); }
static inline bool cpumask_empty(const struct cpumask *m) { return cpumask_weight(m) == 0; }
/* first/next/last answer nr_cpu_ids (or more) when there is no such CPU. */
static inline unsigned int cpumask_first(const struct cpumask *m) { return find_first_bit(m->bits, nr_cpu_ids); }
static inline unsigned int cpumask_next(int n, const struct cpumask *m)
{
	return find_next_bit(m->bits, nr_cpu_ids, n + 1);
}
static inline unsigned int cpumask_last(const struct cpumask *m) { return find_last_bit(m->bits, nr_cpu_ids); }
static inline void cpumask_setall(struct cpumask *m)
{
	cpumask_clear(m);
	for (unsigned int cpu = 0; cpu < nr_cpu_ids; cpu++)
		__set_bit(cpu, m->bits);
}

#define for_each_cpu(cpu, mask)                                                             \
	for ((cpu) = cpumask_first(mask); (unsigned int)(cpu) < nr_cpu_ids;                    \
	     (cpu) = cpumask_next((cpu), (mask)))
#define for_each_possible_cpu(cpu) for_each_cpu((cpu), cpu_possible_mask)
#define for_each_present_cpu(cpu) for_each_cpu((cpu), cpu_present_mask)
#define for_each_online_cpu(cpu) for_each_cpu((cpu), cpu_online_mask)

#define num_possible_cpus() nr_cpu_ids
#define num_present_cpus() nr_cpu_ids
#define num_online_cpus() nr_cpu_ids
#define cpu_online(cpu) ((unsigned int)(cpu) < nr_cpu_ids)
#define cpu_present(cpu) cpu_online(cpu)
#define cpu_possible(cpu) cpu_online(cpu)

#endif
