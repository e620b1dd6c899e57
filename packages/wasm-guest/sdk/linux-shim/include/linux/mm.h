/* pvlab Linux shim (MIT, ours): <linux/mm.h> — pages and their addresses. */
#ifndef PVLAB_SHIM_LINUX_MM_H
#define PVLAB_SHIM_LINUX_MM_H

#include <linux/kernel.h>

#endif
