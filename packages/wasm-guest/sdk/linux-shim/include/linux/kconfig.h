/* pvlab Linux shim (MIT, ours): the kernel configuration the shim builds for. IS_ENABLED(X) is 1
 * when X is defined as 1 here, 0 when it is not defined (usable in #if and in C). */
#ifndef PVLAB_SHIM_LINUX_KCONFIG_H
#define PVLAB_SHIM_LINUX_KCONFIG_H

#define CONFIG_X86 1
#define CONFIG_X86_64 1
#define CONFIG_X86_X2APIC 1
#define CONFIG_SMP 1
#define CONFIG_HYPERV 1
#define CONFIG_NR_CPUS 4096

#define __pvlab_kc_second_(a, b, ...) b
#define __pvlab_kc_second(...) __pvlab_kc_second_(__VA_ARGS__)
#define __pvlab_kc_probe_1 ~, 1
#define __pvlab_kc_is1(probe) __pvlab_kc_second(probe, 0, 0)
#define __pvlab_kc_paste(value) __pvlab_kc_is1(__pvlab_kc_probe_##value)
#define IS_ENABLED(option) __pvlab_kc_paste(option)
#define IS_BUILTIN(option) IS_ENABLED(option)
#define IS_REACHABLE(option) IS_ENABLED(option)

#endif
