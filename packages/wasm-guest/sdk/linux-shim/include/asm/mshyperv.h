/* pvlab Linux shim (MIT, ours): the x86 half of <asm/mshyperv.h>. The hypercall entry points are
 * the SDK's hypercall imports (what CALL hv_hypercall_pg does on x86); the rest of the Hyper-V
 * definitions, including hv_do_rep_hypercall and cpumask_to_vpset, are the tree's own
 * <asm-generic/mshyperv.h> and hyperv-tlfs.h, included as they are. Ordinary partitions only: no
 * SNP/TDX hypercall paths. */
#ifndef PVLAB_SHIM_ASM_MSHYPERV_H
#define PVLAB_SHIM_ASM_MSHYPERV_H

#include <pvlab/guest.h>
#include <linux/kernel.h>
#include <linux/nmi.h>
#include <asm/hyperv-tlfs.h>

extern void *hv_hypercall_pg;
extern u64 hv_current_partition_id;
extern bool hyperv_paravisor_present;
extern struct hv_vp_assist_page **hv_vp_assist_page;

bool hv_isolation_type_snp(void);
bool hv_isolation_type_tdx(void);

/* Memory form: RCX = control, RDX = input GPA, R8 = output GPA; U64_MAX before the page is set up. */
static inline u64 hv_do_hypercall(u64 control, void *input, void *output)
{
	if (!hv_hypercall_pg)
		return U64_MAX;
	return pvlab_hypercall(control, input ? virt_to_phys(input) : 0,
			       output ? virt_to_phys(output) : 0);
}

static inline u64 hv_do_nested_hypercall(u64 control, void *input, void *output)
{
	return hv_do_hypercall(control | HV_HYPERCALL_NESTED, input, output);
}

/* Register-fast forms: RDX = input1, R8 = input2. */
static inline u64 _hv_do_fast_hypercall8(u64 control, u64 input1)
{
	return pvlab_hypercall_fast(control, input1, 0);
}

static inline u64 hv_do_fast_hypercall8(u16 code, u64 input1)
{
	return _hv_do_fast_hypercall8((u64)code | HV_HYPERCALL_FAST_BIT, input1);
}

static inline u64 hv_do_fast_nested_hypercall8(u16 code, u64 input1)
{
	return _hv_do_fast_hypercall8((u64)code | HV_HYPERCALL_FAST_BIT | HV_HYPERCALL_NESTED, input1);
}

static inline u64 _hv_do_fast_hypercall16(u64 control, u64 input1, u64 input2)
{
	return pvlab_hypercall_fast(control, input1, input2);
}

static inline u64 hv_do_fast_hypercall16(u16 code, u64 input1, u64 input2)
{
	return _hv_do_fast_hypercall16((u64)code | HV_HYPERCALL_FAST_BIT, input1, input2);
}

static inline u64 hv_do_fast_nested_hypercall16(u16 code, u64 input1, u64 input2)
{
	return _hv_do_fast_hypercall16((u64)code | HV_HYPERCALL_FAST_BIT | HV_HYPERCALL_NESTED, input1,
				       input2);
}

static inline struct hv_vp_assist_page *hv_get_vp_assist_page(unsigned int cpu)
{
	return hv_vp_assist_page ? hv_vp_assist_page[cpu] : NULL;
}

/* Synthetic MSRs, read and written directly (no nested or SNP redirection). */
static inline u64 hv_get_msr(unsigned int reg) { return pvlab_rdmsr(reg); }
static inline void hv_set_msr(unsigned int reg, u64 value) { pvlab_wrmsr(reg, value); }
static inline u64 hv_get_non_nested_msr(unsigned int reg) { return pvlab_rdmsr(reg); }
static inline void hv_set_non_nested_msr(unsigned int reg, u64 value) { pvlab_wrmsr(reg, value); }
static inline u64 hv_raw_get_msr(unsigned int reg) { return pvlab_rdmsr(reg); }

void hv_apic_init(void);

#include <asm-generic/mshyperv.h>

#endif
