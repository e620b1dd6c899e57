/* pvlab Linux shim (MIT, ours): size arithmetic that saturates at SIZE_MAX (<linux/overflow.h>). */
#ifndef PVLAB_SHIM_LINUX_OVERFLOW_H
#define PVLAB_SHIM_LINUX_OVERFLOW_H

#include <linux/types.h>

static inline size_t __pvlab_size_mul(size_t a, size_t b)
{
	size_t r;
	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static inline size_t __pvlab_size_add(size_t a, size_t b)
{
	size_t r;
	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

#define array_size(a, b) __pvlab_size_mul((a), (b))
/* A struct `*p` followed by `count` elements of its flexible array `member`. */
#define flex_array_size(p, member, count) __pvlab_size_mul((count), sizeof(*(p)->member))
#define struct_size(p, member, count) __pvlab_size_add(sizeof(*(p)), flex_array_size(p, member, count))
#define check_add_overflow(a, b, d) __builtin_add_overflow((a), (b), (d))
#define check_mul_overflow(a, b, d) __builtin_mul_overflow((a), (b), (d))

#endif
