/* pvlab Linux shim (MIT, ours): <linux/clockchips.h>: no clock event devices are modelled. */
#ifndef PVLAB_SHIM_LINUX_CLOCKCHIPS_H
#define PVLAB_SHIM_LINUX_CLOCKCHIPS_H

#include <linux/kernel.h>

#endif
