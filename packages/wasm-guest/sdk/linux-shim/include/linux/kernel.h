/* pvlab Linux shim (MIT, ours): <linux/kernel.h> and the small helpers everything sees. In the
 * kernel nearly every header reaches nearly every other one; here this header brings in the whole
 * shim, and the one-line stand-ins (mm.h, hyperv.h, ...) include it. */
#ifndef PVLAB_SHIM_LINUX_KERNEL_H
#define PVLAB_SHIM_LINUX_KERNEL_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/bits.h>
#include <linux/bitops.h>
#include <linux/bug.h>
#include <linux/printk.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/overflow.h>
#include <linux/atomic.h>
#include <linux/irqflags.h>
#include <linux/smp.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/slab.h>
#include <asm/page.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ALIGN(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define round_up(x, y) ALIGN((x), (y))
#define lower_32_bits(n) ((u32)((n) & 0xffffffff))
#define upper_32_bits(n) ((u32)(((u64)(n)) >> 32))
#define min(a, b) ({ __typeof__(a) __pvlab_a = (a); __typeof__(b) __pvlab_b = (b); __pvlab_a < __pvlab_b ? __pvlab_a : __pvlab_b; })
#define max(a, b) ({ __typeof__(a) __pvlab_a = (a); __typeof__(b) __pvlab_b = (b); __pvlab_a > __pvlab_b ? __pvlab_a : __pvlab_b; })
#define min_t(type, a, b) min((type)(a), (type)(b))
#define max_t(type, a, b) max((type)(a), (type)(b))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define might_sleep() do { } while (0)
/* Types kernel code only passes by pointer. */
struct device;

#define EXPORT_SYMBOL(sym)
#define EXPORT_SYMBOL_GPL(sym)

#endif
