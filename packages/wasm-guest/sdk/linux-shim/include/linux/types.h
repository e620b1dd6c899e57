/* pvlab Linux shim (MIT, ours): the kernel's fixed-size types (<linux/types.h>). wasm32 is ILP32:
 * `long` and pointers are 32 bits, `long long` (u64) 64 bits with 8-byte alignment as on x86-64. */
#ifndef PVLAB_SHIM_LINUX_TYPES_H
#define PVLAB_SHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/compiler.h>

typedef unsigned char u8, __u8;
typedef signed char s8, __s8;
typedef unsigned short u16, __u16;
typedef short s16, __s16;
typedef unsigned int u32, __u32;
typedef int s32, __s32;
typedef unsigned long long u64, __u64;
typedef long long s64, __s64;
typedef u16 __le16, __be16;
typedef u32 __le32, __be32;
typedef u64 __le64, __be64;
typedef u64 phys_addr_t;
typedef u64 dma_addr_t;
typedef unsigned int gfp_t;
typedef long ssize_t;
typedef unsigned long ulong;
typedef s64 time64_t;

typedef struct { int counter; } atomic_t;
typedef struct { s64 counter; } atomic64_t;

#include <linux/limits.h>

#endif
