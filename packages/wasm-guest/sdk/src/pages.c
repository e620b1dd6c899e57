/*
 * The page allocator (@pvlab/wasm-guest, MIT): one bump over the memory map's pages region,
 * shared by every vCPU (its counter is in the image, which all instances share), advanced with
 * a compare-and-swap. Nothing is freed. The counter lives in guest RAM, so a restored VM goes on
 * where it was saved.
 */
#include <pvlab/guest.h>

/* Bytes of the region handed out so far (offset from pages_gpa). */
static uint32_t used;

static void *bump(uint32_t bytes, uint32_t align) {
  uint32_t base = __pvlab_info.pages_gpa;
  uint32_t limit = __pvlab_info.pages_bytes;
  uint32_t old = __atomic_load_n(&used, __ATOMIC_RELAXED);
  for (;;) {
    /* Alignment is of the GPA; the region starts on a 4 KiB page. */
    uint32_t start = ((base + old + align - 1) & ~(align - 1)) - base;
    if (start > limit || bytes > limit - start) return NULL;
    if (__atomic_compare_exchange_n(&used, &old, start + bytes, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      void *p = pvlab_ptr((uint64_t)base + start);
      __builtin_memset(p, 0, bytes);
      return p;
    }
  }
}

void *pvlab_alloc_pages(unsigned count) {
  if (count == 0 || count > __pvlab_info.pages_bytes / PVLAB_PAGE_SIZE) return NULL;
  return bump(count * PVLAB_PAGE_SIZE, PVLAB_PAGE_SIZE);
}

void *pvlab_alloc(size_t bytes) {
  if (bytes > __pvlab_info.pages_bytes) return NULL;
  return bump(bytes == 0 ? 16 : ((uint32_t)bytes + 15u) & ~15u, 16);
}
