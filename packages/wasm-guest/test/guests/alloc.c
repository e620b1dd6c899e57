/* The page allocator, called from JS on each vCPU (and from worker threads at once). */
#include "exports.h"

EXPORT(alloc_pages) uintptr_t alloc_pages(unsigned count) { return (uintptr_t)pvlab_alloc_pages(count); }
EXPORT(alloc) uintptr_t alloc(unsigned bytes) { return (uintptr_t)pvlab_alloc(bytes); }

/* Allocates single pages until none are left, writing their addresses to out; returns the count. */
EXPORT(drain) unsigned drain(uint32_t *out, unsigned max) {
  unsigned n = 0;
  for (void *p; n < max && (p = pvlab_alloc_pages(1)) != NULL;) out[n++] = (uint32_t)(uintptr_t)p;
  return n;
}
