/* pvlab Linux shim (MIT, ours): <linux/version.h>. The build passes the tree's version as
 * PVLAB_LINUX_VERSION_CODE (read from its Makefile); 0 when it does not. */
#ifndef PVLAB_SHIM_LINUX_VERSION_H
#define PVLAB_SHIM_LINUX_VERSION_H

#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#ifdef PVLAB_LINUX_VERSION_CODE
#define LINUX_VERSION_CODE PVLAB_LINUX_VERSION_CODE
#else
#define LINUX_VERSION_CODE 0
#endif

#endif
