/* pvlab Linux shim (MIT, ours): bit operations on arrays of unsigned long (<linux/bitops.h>,
 * <linux/bitmap.h>, <linux/find.h>). Kernel code casts other integers (a u64 mask) to
 * `unsigned long *`, so the word accesses are may_alias. */
#ifndef PVLAB_SHIM_LINUX_BITOPS_H
#define PVLAB_SHIM_LINUX_BITOPS_H

#include <linux/types.h>
#include <linux/bits.h>

typedef unsigned long __attribute__((may_alias)) __pvlab_word;

#define BITS_TO_LONGS(nr) (((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]

static inline void __set_bit(unsigned long nr, volatile void *addr)
{
	((__pvlab_word *)addr)[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void __clear_bit(unsigned long nr, volatile void *addr)
{
	((__pvlab_word *)addr)[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline bool test_bit(unsigned long nr, const volatile void *addr)
{
	return (((const __pvlab_word *)addr)[BIT_WORD(nr)] >> (nr % BITS_PER_LONG)) & 1;
}

/* The atomic forms: other vCPUs run on other threads over the same memory. */
static inline void set_bit(unsigned long nr, volatile void *addr)
{
	__atomic_fetch_or(&((__pvlab_word *)addr)[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

static inline void clear_bit(unsigned long nr, volatile void *addr)
{
	__atomic_fetch_and(&((__pvlab_word *)addr)[BIT_WORD(nr)], ~BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

static inline bool test_and_set_bit(unsigned long nr, volatile void *addr)
{
	return __atomic_fetch_or(&((__pvlab_word *)addr)[BIT_WORD(nr)], BIT_MASK(nr), __ATOMIC_SEQ_CST) &
	       BIT_MASK(nr);
}

static inline bool test_and_clear_bit(unsigned long nr, volatile void *addr)
{
	return __atomic_fetch_and(&((__pvlab_word *)addr)[BIT_WORD(nr)], ~BIT_MASK(nr), __ATOMIC_SEQ_CST) &
	       BIT_MASK(nr);
}

static inline unsigned int hweight32(u32 w) { return __builtin_popcount(w); }
static inline unsigned int hweight64(u64 w) { return __builtin_popcountll(w); }
static inline unsigned int hweight_long(unsigned long w) { return __builtin_popcountl(w); }
/* Index of the lowest / highest set bit; undefined for 0, as in the kernel. */
static inline unsigned long __ffs(unsigned long w) { return __builtin_ctzl(w); }
static inline unsigned long __fls(unsigned long w) { return BITS_PER_LONG - 1 - __builtin_clzl(w); }
/* 1-based, 0 for no bit. */
static inline int ffs(int x) { return __builtin_ffs(x); }
static inline int fls(unsigned int x) { return x ? 32 - __builtin_clz(x) : 0; }
static inline int fls64(u64 x) { return x ? 64 - __builtin_clzll(x) : 0; }

/* The first set bit at or after `offset`, or `size` when there is none. */
static inline unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
					  unsigned long offset)
{
	while (offset < size) {
		unsigned long word = ((const __pvlab_word *)addr)[BIT_WORD(offset)] >> (offset % BITS_PER_LONG);
		if (word) {
			offset += __ffs(word);
			return offset < size ? offset : size;
		}
		offset = (BIT_WORD(offset) + 1) * BITS_PER_LONG;
	}
	return size;
}

static inline unsigned long find_first_bit(const unsigned long *addr, unsigned long size)
{
	return find_next_bit(addr, size, 0);
}

/* The last set bit below `size`, or `size` when there is none. */
static inline unsigned long find_last_bit(const unsigned long *addr, unsigned long size)
{
	for (unsigned long word = BITS_TO_LONGS(size); word-- > 0;) {
		unsigned long bits = ((const __pvlab_word *)addr)[word];
		if (word == BIT_WORD(size) && size % BITS_PER_LONG)
			bits &= BIT_MASK(size) - 1;
		if (bits)
			return word * BITS_PER_LONG + __fls(bits);
	}
	return size;
}

#define for_each_set_bit(bit, addr, size)                                                  \
	for ((bit) = find_first_bit((addr), (size)); (bit) < (size);                        \
	     (bit) = find_next_bit((addr), (size), (bit) + 1))

static inline void bitmap_zero(unsigned long *dst, unsigned int nbits)
{
	__builtin_memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

/* The bits of word `i` of a bitmap that lie below `nbits`. */
static inline unsigned long __pvlab_bitmap_word(const unsigned long *src, unsigned int i,
					        unsigned int nbits)
{
	unsigned long w = ((const __pvlab_word *)src)[i];
	return i == BIT_WORD(nbits) ? w & (BIT_MASK(nbits) - 1) : w;
}

static inline unsigned int bitmap_weight(const unsigned long *src, unsigned int nbits)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < BITS_TO_LONGS(nbits); i++)
		n += hweight_long(__pvlab_bitmap_word(src, i, nbits));
	return n;
}

static inline bool bitmap_equal(const unsigned long *a, const unsigned long *b, unsigned int nbits)
{
	for (unsigned int i = 0; i < BITS_TO_LONGS(nbits); i++)
		if (__pvlab_bitmap_word(a, i, nbits) != __pvlab_bitmap_word(b, i, nbits))
			return false;
	return true;
}

#endif
