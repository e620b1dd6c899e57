/* pvlab Linux shim (MIT, ours): <linux/hyperv.h> (the VMBus driver API). No file compiled so far
 * uses anything from it; the shared Hyper-V definitions come from <asm/mshyperv.h>. */
#ifndef PVLAB_SHIM_LINUX_HYPERV_H
#define PVLAB_SHIM_LINUX_HYPERV_H

#include <linux/kernel.h>
#include <asm/mshyperv.h>

#endif
