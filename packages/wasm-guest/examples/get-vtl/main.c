/* SPDX-License-Identifier: MIT */
/*
 * get_vtl(): every vCPU reads HvRegisterVsmVpStatus with a rep HvCallGetVpRegisters (0x0050,
 * one register) whose input and output are separate pages, as Linux's fixed get_vtl() does
 * (v6.6 used one area for both, which pvlab's strict mode reports as an overlap), and reports
 * the VTL it runs in.
 */
#include <pvlab/guest.h>

#define HV_X64_MSR_GUEST_OS_ID 0x40000000u
#define HV_X64_MSR_HYPERCALL 0x40000001u
#define HV_CPUID_FEATURES 0x40000003u
#define HV_ACCESS_VP_REGISTERS (1u << 17) /* CPUID 0x40000003 EBX: Get/SetVpRegisters */

#define HvCallGetVpRegisters 0x0050 /* packages/hypercall's HvCallCode table */
#define HV_PARTITION_ID_SELF 0xffffffffffffffffull
#define HV_VP_INDEX_SELF 0xfffffffeu
#define HV_REGISTER_VSM_VP_STATUS 0x000d0003u
#define HV_CONTROL_REP_COUNT(n) ((uint64_t)(n) << 32)
#define HV_STATUS(r) ((unsigned)((r) & 0xffff))
#define HV_REPS_DONE(r) ((unsigned)(((r) >> 32) & 0xfff))

/* HvCallGetVpRegisters input: a 16-byte header, then the register names (u32 each). */
struct get_vp_registers_input {
  uint64_t partition_id;
  uint32_t vp_index;
  uint8_t input_vtl; /* 0: the caller's current VTL */
  uint8_t reserved[3];
  uint32_t names[];
};
_Static_assert(sizeof(struct get_vp_registers_input) == 16, "HV_INPUT_GET_VP_REGISTERS header");

/* One output element: HV_REGISTER_VALUE, 128 bits, low quadword first. */
struct register_value {
  uint64_t low, high;
};
_Static_assert(sizeof(struct register_value) == 16, "HV_REGISTER_VALUE");

static volatile int hypercalls_enabled;

/* The guest OS ID and the hypercall page are partition-wide: vCPU 0 sets them once. */
static void enable_hypercalls(int cpu) {
  if (cpu == 0) {
    void *page = pvlab_alloc_pages(1);
    if (page == NULL) pvlab_fail("no page left for the hypercall page");
    pvlab_wrmsr(HV_X64_MSR_GUEST_OS_ID, 0x8100ull << 48); /* Linux's vendor ID */
    pvlab_wrmsr(HV_X64_MSR_HYPERCALL, pvlab_gpa(page) | 1);
    __atomic_store_n(&hypercalls_enabled, 1, __ATOMIC_RELEASE);
  }
  while (__atomic_load_n(&hypercalls_enabled, __ATOMIC_ACQUIRE) == 0) pvlab_pause();
}

void guest_main(int cpu) {
  if (!(pvlab_cpuid(HV_CPUID_FEATURES).ebx & HV_ACCESS_VP_REGISTERS))
    pvlab_fail("the partition has no AccessVpRegisters privilege (CPUID 0x40000003 EBX bit 17)");
  enable_hypercalls(cpu);

  /* Separate input and output pages: the hypervisor may write the output before it has read all input. */
  struct get_vp_registers_input *in = pvlab_alloc_pages(1);
  struct register_value *out = pvlab_alloc_pages(1);
  if (in == NULL || out == NULL) pvlab_fail("no pages left for the input and output pages");
  in->partition_id = HV_PARTITION_ID_SELF;
  in->vp_index = HV_VP_INDEX_SELF;
  in->input_vtl = 0;
  in->names[0] = HV_REGISTER_VSM_VP_STATUS;

  uint64_t r = pvlab_hypercall(HvCallGetVpRegisters | HV_CONTROL_REP_COUNT(1), pvlab_gpa(in), pvlab_gpa(out));
  if (HV_STATUS(r) != 0 || HV_REPS_DONE(r) != 1)
    pvlab_fail("HvCallGetVpRegisters(HvRegisterVsmVpStatus): status 0x%x, %u of 1 reps", HV_STATUS(r),
               HV_REPS_DONE(r));
  /* HvRegisterVsmVpStatus: 3:0 ActiveVtl, 31:16 EnabledVtlSet. */
  unsigned vtl = (unsigned)(out->low & 0xf);
  unsigned enabled = (unsigned)((out->low >> 16) & 0xffff);
  pvlab_report("vtl", vtl);
  pvlab_log("vCPU %d runs in VTL%u (enabled VTLs 0x%x)", cpu, vtl, enabled);
}
