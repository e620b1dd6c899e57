/* pvlab Linux shim (MIT, ours): printk and pr_*() (<linux/printk.h>) as pvlab_log lines, without
 * the kernel's trailing newline. Log levels are dropped; pr_debug() checks its format and prints
 * nothing. A file's own `#define pr_fmt(fmt)` before its includes still prefixes its lines. */
#ifndef PVLAB_SHIM_LINUX_PRINTK_H
#define PVLAB_SHIM_LINUX_PRINTK_H

#include <pvlab/guest.h>

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

#define KERN_EMERG ""
#define KERN_ALERT ""
#define KERN_CRIT ""
#define KERN_ERR ""
#define KERN_WARNING ""
#define KERN_NOTICE ""
#define KERN_INFO ""
#define KERN_DEBUG ""
#define KERN_CONT ""

void __pvlab_printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define printk(fmt, ...) __pvlab_printk(fmt, ##__VA_ARGS__)
#define pr_emerg(fmt, ...) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_alert(fmt, ...) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_crit(fmt, ...) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_notice(fmt, ...) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__)
#define pr_cont(fmt, ...) __pvlab_printk(fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) do { if (0) __pvlab_printk(pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#define pr_err_once pr_err
#define pr_warn_once pr_warn
#define pr_info_once pr_info

#endif
