/* SPDX-License-Identifier: MIT */
/*
 * A TLB shootdown that picks the cheapest flush hypercall for each request, as Linux's
 * hyperv_flush_tlb_multi() does (and pvlab's JS guest, packages/tlb-ipi chooseFlush):
 *  - every CPU: HV_FLUSH_ALL_PROCESSORS, no mask to send;
 *  - all target VP indexes below 64: the 64-bit ProcessorMask forms, else the Ex forms with a
 *    sparse HV_VP_SET (only VMs with more than 64 vCPUs need them; the last requests here force
 *    them so that 4 vCPUs show them too);
 *  - up to 33 pages (x86's tlb_single_page_flush_ceiling): a GVA list (one entry covers 4096
 *    pages), else the whole address space.
 * vCPU 0 issues the requests while the others run (spinning with pause, as a kernel would be
 * doing other work); each call and its status is logged, and the count of each call reported.
 */
#include <pvlab/guest.h>

#define HV_X64_MSR_GUEST_OS_ID 0x40000000u
#define HV_X64_MSR_HYPERCALL 0x40000001u
#define HV_X64_MSR_VP_INDEX 0x40000002u
#define HV_CPUID_ENLIGHTMENTS 0x40000004u
#define HV_REMOTE_TLB_FLUSH_RECOMMENDED (1u << 2)    /* CPUID 0x40000004 EAX */
#define HV_EX_PROCESSOR_MASKS_RECOMMENDED (1u << 11) /* CPUID 0x40000004 EAX */

/* Call codes: packages/hypercall's HvCallCode table. */
#define HvCallFlushVirtualAddressSpace 0x0002
#define HvCallFlushVirtualAddressList 0x0003
#define HvCallFlushVirtualAddressSpaceEx 0x0013
#define HvCallFlushVirtualAddressListEx 0x0014

#define HV_FLUSH_ALL_PROCESSORS (1ull << 0)
#define HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES (1ull << 1)
#define HV_GENERIC_SET_SPARSE_4K 0
#define HV_CONTROL_VARHEAD(n) ((uint64_t)(n) << 17) /* VariableHeaderSize, in 8-byte units */
#define HV_CONTROL_REP_COUNT(n) ((uint64_t)(n) << 32)
#define HV_STATUS(r) ((unsigned)((r) & 0xffff))
#define HV_REPS_DONE(r) ((unsigned)(((r) >> 32) & 0xfff))

#define SINGLE_PAGE_FLUSH_CEILING 33
#define PAGES_PER_GVA_RANGE 4096 /* HV_GVA_RANGE: a page and up to 4095 more (bits 11:0) */
#define MAX_CPUS 4096

struct flush_input { /* HvCallFlushVirtualAddressSpace / List */
  uint64_t address_space, flags, processor_mask;
  uint64_t gva_list[];
};
struct flush_input_ex { /* HvCallFlushVirtualAddressSpaceEx / ListEx */
  uint64_t address_space, flags;
  uint64_t format, valid_bank_mask; /* HV_VP_SET; its banks, then the GVA list, follow */
  uint64_t banks_then_gvas[];
};
_Static_assert(sizeof(struct flush_input) == 24, "HV_INPUT_FLUSH_VIRTUAL_ADDRESS_SPACE");
_Static_assert(sizeof(struct flush_input_ex) == 32, "HV_INPUT_FLUSH_VIRTUAL_ADDRESS_SPACE_EX");

enum call { LIST, SPACE, LIST_EX, SPACE_EX, CALLS };
static const char *const call_names[CALLS] = {
    "HvCallFlushVirtualAddressList", "HvCallFlushVirtualAddressSpace",
    "HvCallFlushVirtualAddressListEx", "HvCallFlushVirtualAddressSpaceEx"};
static const uint64_t call_codes[CALLS] = {HvCallFlushVirtualAddressList, HvCallFlushVirtualAddressSpace,
                                           HvCallFlushVirtualAddressListEx, HvCallFlushVirtualAddressSpaceEx};

/* Shared by every vCPU (the image is in shared memory). */
static volatile uint32_t vp_index[MAX_CPUS];
static volatile int hypercalls_enabled, known_vps, finished;

/* Writes the GVA list for `pages` pages at `gva` (Linux's fill_gva_list); returns its entries. */
static unsigned fill_gva_list(uint64_t *list, uint64_t gva, unsigned pages) {
  unsigned n = 0;
  for (; pages > 0; n++) {
    unsigned chunk = pages < PAGES_PER_GVA_RANGE ? pages : PAGES_PER_GVA_RANGE;
    list[n] = (gva & ~0xfffull) | (chunk - 1);
    gva += (uint64_t)chunk << 12;
    pages -= chunk;
  }
  return n;
}

/* Flushes `pages` kernel pages at `gva` on `cpus`; force_ex takes the Ex form even when not needed. */
static void flush(uint64_t *page, const int *cpus, int ncpus, uint64_t gva, unsigned pages, bool force_ex) {
  bool all = ncpus == pvlab_cpu_count();
  uint32_t max_vp = 0;
  for (int i = 0; i < ncpus; i++)
    if (vp_index[cpus[i]] > max_vp) max_vp = vp_index[cpus[i]];
  bool whole = pages > SINGLE_PAGE_FLUSH_CEILING;
  enum call call;
  uint64_t control;
  unsigned reps = 0;

  if (!force_ex && (all || max_vp < 64)) {
    struct flush_input *in = (struct flush_input *)page;
    in->address_space = 0;
    in->flags = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES | (all ? HV_FLUSH_ALL_PROCESSORS : 0);
    in->processor_mask = 0;
    if (!all)
      for (int i = 0; i < ncpus; i++) in->processor_mask |= 1ull << vp_index[cpus[i]];
    if (!whole) reps = fill_gva_list(in->gva_list, gva, pages);
    call = whole ? SPACE : LIST;
    control = call_codes[call] | HV_CONTROL_REP_COUNT(reps);
  } else {
    if (!(pvlab_cpuid(HV_CPUID_ENLIGHTMENTS).eax & HV_EX_PROCESSOR_MASKS_RECOMMENDED)) {
      pvlab_log("%u page(s) on %d vCPU(s): Ex processor masks are not recommended: Linux would flush with IPIs",
                pages, ncpus);
      return;
    }
    struct flush_input_ex *in = (struct flush_input_ex *)page;
    in->address_space = 0;
    in->flags = HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
    in->format = HV_GENERIC_SET_SPARSE_4K;
    /* Bank b holds VPs 64b..64b+63; only banks with a VP are sent, in ascending order. */
    uint64_t banks[MAX_CPUS / 64] = {0};
    in->valid_bank_mask = 0;
    for (int i = 0; i < ncpus; i++) {
      uint32_t vp = vp_index[cpus[i]];
      banks[vp / 64] |= 1ull << (vp % 64);
      in->valid_bank_mask |= 1ull << (vp / 64);
    }
    unsigned nr_bank = 0;
    for (unsigned b = 0; b < MAX_CPUS / 64; b++)
      if (banks[b]) in->banks_then_gvas[nr_bank++] = banks[b];
    if (!whole) reps = fill_gva_list(in->banks_then_gvas + nr_bank, gva, pages);
    call = whole ? SPACE_EX : LIST_EX;
    control = call_codes[call] | HV_CONTROL_VARHEAD(nr_bank) | HV_CONTROL_REP_COUNT(reps);
  }

  uint64_t r = pvlab_hypercall(control, pvlab_gpa(page), 0);
  if (HV_STATUS(r) != 0 || HV_REPS_DONE(r) != reps)
    pvlab_fail("%s: status 0x%x, %u of %u reps", call_names[call], HV_STATUS(r), HV_REPS_DONE(r), reps);
  pvlab_log("%u page(s) on %d vCPU(s): %s, %u rep(s)", pages, ncpus, call_names[call], reps);
  static int counts[CALLS];
  pvlab_report(call_names[call], ++counts[call]);
}

static void shootdowns(void) {
  if (!(pvlab_cpuid(HV_CPUID_ENLIGHTMENTS).eax & HV_REMOTE_TLB_FLUSH_RECOMMENDED)) {
    pvlab_log("remote TLB flush is not recommended: Linux would flush with IPIs");
    return;
  }
  int cpus = pvlab_cpu_count();
  if (cpus < 2) {
    pvlab_log("one vCPU: no other TLB to shoot down (run with --vcpus 4)");
    return;
  }
  uint64_t *page = pvlab_alloc_pages(1); /* this vCPU's hypercall input page */
  static int every[MAX_CPUS];
  for (int i = 0; i < cpus; i++) every[i] = i;
  const uint64_t gva = 0xffffc90000000000ull; /* a kernel (vmalloc) address */

  flush(page, every + 1, 1, gva, 1, false);          /* vCPU 1, one page: List */
  flush(page, every + 1, cpus - 1, gva, 16, false);  /* the others, 16 pages: List */
  flush(page, every, cpus, gva, 512, false);         /* every vCPU, 2 MiB: Space, ALL_PROCESSORS */
  flush(page, every + cpus - 1, 1, gva, 1, false);   /* the last vCPU: List, or ListEx past VP 63 */
  flush(page, every + 1, cpus - 1, gva, 1, true);    /* the Ex forms, forced: ListEx */
  flush(page, every + 1, cpus - 1, gva, 512, true);  /* and SpaceEx */
}

void guest_main(int cpu) {
  if (cpu >= MAX_CPUS) pvlab_fail("this example handles up to %d vCPUs", MAX_CPUS);
  if (cpu == 0) {
    void *hypercall_page = pvlab_alloc_pages(1);
    if (hypercall_page == NULL) pvlab_fail("no page left for the hypercall page");
    pvlab_wrmsr(HV_X64_MSR_GUEST_OS_ID, 0x8100ull << 48); /* Linux's vendor ID */
    pvlab_wrmsr(HV_X64_MSR_HYPERCALL, pvlab_gpa(hypercall_page) | 1);
    __atomic_store_n(&hypercalls_enabled, 1, __ATOMIC_RELEASE);
  }
  while (__atomic_load_n(&hypercalls_enabled, __ATOMIC_ACQUIRE) == 0) pvlab_pause();
  /* Flushes name VPs, not CPUs: each vCPU publishes its VP index (hv_vp_index[] in Linux). */
  vp_index[cpu] = (uint32_t)pvlab_rdmsr(HV_X64_MSR_VP_INDEX);
  __atomic_fetch_add(&known_vps, 1, __ATOMIC_ACQ_REL);

  if (cpu == 0) {
    while (__atomic_load_n(&known_vps, __ATOMIC_ACQUIRE) < pvlab_cpu_count()) pvlab_pause();
    shootdowns();
    __atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
  } else {
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) == 0) pvlab_pause();
  }
}
