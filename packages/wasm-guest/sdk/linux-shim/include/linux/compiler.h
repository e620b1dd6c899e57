/* pvlab Linux shim (MIT, ours): attributes and compiler helpers (<linux/compiler.h>,
 * <linux/compiler_attributes.h>, <linux/init.h> annotations). */
#ifndef PVLAB_SHIM_LINUX_COMPILER_H
#define PVLAB_SHIM_LINUX_COMPILER_H

#include <linux/kconfig.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __always_inline inline __attribute__((always_inline))
#define noinline __attribute__((noinline))
#define __packed __attribute__((packed))
#define __aligned(x) __attribute__((aligned(x)))
#define __weak __attribute__((weak))
#define __maybe_unused __attribute__((unused))
#define __always_unused __attribute__((unused))
#define __used __attribute__((used))
#define __must_check __attribute__((warn_unused_result))
#define __noreturn __attribute__((noreturn))
#define __cold __attribute__((cold))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define fallthrough __attribute__((fallthrough))
#define notrace
#define __visible
#define noinstr
/* Address-space and section annotations mean nothing in one wasm linear memory. */
#define __percpu
#define __iomem
#define __user
#define __force
#define __rcu
#define __init
#define __initdata
#define __initconst
#define __exit
#define __ref
#define __read_mostly
#define __ro_after_init

#define barrier() __asm__ __volatile__("" ::: "memory")
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val) do { *(volatile __typeof__(x) *)&(x) = (val); } while (0)
#define __same_type(a, b) __builtin_types_compatible_p(__typeof__(a), __typeof__(b))

#endif
