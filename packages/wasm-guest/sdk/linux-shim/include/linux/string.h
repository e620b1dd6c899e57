/* pvlab Linux shim (MIT, ours): memory and string functions (<linux/string.h>); the memory ones
 * become wasm bulk-memory instructions. */
#ifndef PVLAB_SHIM_LINUX_STRING_H
#define PVLAB_SHIM_LINUX_STRING_H

#include <linux/types.h>

#define memset(s, c, n) __builtin_memset((s), (c), (n))
#define memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define memmove(d, s, n) __builtin_memmove((d), (s), (n))
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
