/* pvlab Linux shim (MIT, ours): atomic_t, atomic64_t, xchg and cmpxchg (<linux/atomic.h>) over the
 * compiler's __atomic builtins (wasm atomics on the shared memory), all sequentially consistent. */
#ifndef PVLAB_SHIM_LINUX_ATOMIC_H
#define PVLAB_SHIM_LINUX_ATOMIC_H

#include <linux/types.h>
#include <asm/barrier.h>

#define ATOMIC_INIT(i) { (i) }
#define ATOMIC64_INIT(i) { (i) }

/* The object as naturally aligned: kernel code does xchg/cmpxchg on members of packed structs
 * that sit at aligned offsets (x86 would not mind either way; a wasm atomic at a misaligned
 * address traps, which then names the bug). */
#define __pvlab_aligned_ptr(ptr) ((__typeof__(*(ptr)) *)(void *)(ptr))

/* cmpxchg returns the value found; xchg the value replaced. */
#define xchg(ptr, v) __atomic_exchange_n(__pvlab_aligned_ptr(ptr), (v), __ATOMIC_SEQ_CST)
#define cmpxchg(ptr, old, new)                                                              \
	({                                                                                   \
		__typeof__(*(ptr)) __pvlab_old = (old);                                       \
		__atomic_compare_exchange_n(__pvlab_aligned_ptr(ptr), &__pvlab_old, (new), false, \
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);              \
		__pvlab_old;                                                                  \
	})
#define try_cmpxchg(ptr, oldp, new)                                                         \
	__atomic_compare_exchange_n(__pvlab_aligned_ptr(ptr), (oldp), (new), false, __ATOMIC_SEQ_CST, \
				    __ATOMIC_SEQ_CST)

#define __PVLAB_ATOMIC_OPS(prefix, type, vtype)                                              \
	static inline vtype prefix##_read(const type *v) { return __atomic_load_n(&v->counter, __ATOMIC_SEQ_CST); } \
	static inline void prefix##_set(type *v, vtype i) { __atomic_store_n(&v->counter, i, __ATOMIC_SEQ_CST); } \
	static inline void prefix##_add(vtype i, type *v) { __atomic_fetch_add(&v->counter, i, __ATOMIC_SEQ_CST); } \
	static inline void prefix##_sub(vtype i, type *v) { __atomic_fetch_sub(&v->counter, i, __ATOMIC_SEQ_CST); } \
	static inline void prefix##_inc(type *v) { prefix##_add(1, v); }                    \
	static inline void prefix##_dec(type *v) { prefix##_sub(1, v); }                    \
	static inline vtype prefix##_add_return(vtype i, type *v) { return __atomic_add_fetch(&v->counter, i, __ATOMIC_SEQ_CST); } \
	static inline vtype prefix##_sub_return(vtype i, type *v) { return __atomic_sub_fetch(&v->counter, i, __ATOMIC_SEQ_CST); } \
	static inline vtype prefix##_inc_return(type *v) { return prefix##_add_return(1, v); } \
	static inline vtype prefix##_dec_return(type *v) { return prefix##_sub_return(1, v); } \
	static inline bool prefix##_dec_and_test(type *v) { return prefix##_dec_return(v) == 0; } \
	static inline vtype prefix##_fetch_add(vtype i, type *v) { return __atomic_fetch_add(&v->counter, i, __ATOMIC_SEQ_CST); } \
	static inline vtype prefix##_xchg(type *v, vtype i) { return xchg(&v->counter, i); } \
	static inline vtype prefix##_cmpxchg(type *v, vtype old, vtype new) { return cmpxchg(&v->counter, old, new); }

__PVLAB_ATOMIC_OPS(atomic, atomic_t, int)
__PVLAB_ATOMIC_OPS(atomic64, atomic64_t, s64)

#endif
