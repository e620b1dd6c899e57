/* pvlab Linux shim (MIT, ours): the error numbers kernel code returns (Linux's ABI values). */
#ifndef PVLAB_SHIM_LINUX_ERRNO_H
#define PVLAB_SHIM_LINUX_ERRNO_H

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define EOPNOTSUPP 95
#define ETIMEDOUT 110

#endif
