/* pvlab Linux shim (MIT, ours): BUG and WARN (<linux/bug.h>, <asm-generic/bug.h>). BUG() ends the
 * vCPU's program as failed (pvlab_fail, naming the place); WARN logs it and goes on, as the kernel
 * does. */
#ifndef PVLAB_SHIM_LINUX_BUG_H
#define PVLAB_SHIM_LINUX_BUG_H

#include <pvlab/guest.h>
#include <linux/compiler.h>

#define BUG() pvlab_fail("kernel BUG at %s:%d", __FILE__, __LINE__)
#define BUG_ON(cond) do { if (unlikely(cond)) BUG(); } while (0)
#define WARN(cond, fmt, ...)                                                                \
	({                                                                                   \
		int __pvlab_warn = !!(cond);                                                  \
		if (unlikely(__pvlab_warn))                                                   \
			pvlab_log("WARNING at %s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__); \
		unlikely(__pvlab_warn);                                                       \
	})
#define WARN_ON(cond) WARN((cond), "%s", #cond)
#define WARN_ONCE(cond, fmt, ...) WARN((cond), fmt, ##__VA_ARGS__)
#define WARN_ON_ONCE(cond) WARN_ON(cond)
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")
#define BUILD_BUG_ON_MSG(cond, msg) _Static_assert(!(cond), msg)

#endif
