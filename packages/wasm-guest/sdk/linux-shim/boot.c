/* pvlab Linux shim (MIT, ours): the boot steps Linux takes in code the shim does not compile
 * (ms_hyperv_init_platform, hyperv_init, hv_common_init, the CPU hotplug callbacks), and the
 * globals those files define. The per-CPU step itself is Linux's: hv_common_cpu_init(). */
#include <linux/kernel.h>
#include <linux/version.h>
#include <asm/mshyperv.h>
#include <pvlab-shim/boot.h>

/* Defined by drivers/hv/hv_common.c. */
bool hv_root_partition;
bool hv_nested;
struct ms_hyperv_info ms_hyperv;
u32 *hv_vp_index;
u32 hv_max_vp_index;
void * __percpu *hyperv_pcpu_input_arg;
void * __percpu *hyperv_pcpu_output_arg;
/* Defined by arch/x86/hyperv/hv_init.c and arch/x86/kernel/cpu/mshyperv.c. */
void *hv_hypercall_pg;
u64 hv_current_partition_id = ~0ull;
struct hv_vp_assist_page **hv_vp_assist_page;
bool hyperv_paravisor_present;

void __pvlab_kernel_init(unsigned int cpus);

void shim_boot(void)
{
	union hv_x64_msr_hypercall_contents hypercall_msr;
	unsigned int cpu;

	__pvlab_kernel_init(pvlab_cpu_count());

	/* What ms_hyperv_init_platform() reads from the hypervisor's CPUID leaves. */
	ms_hyperv.features = cpuid_eax(HYPERV_CPUID_FEATURES);
	ms_hyperv.priv_high = cpuid_ebx(HYPERV_CPUID_FEATURES);
	ms_hyperv.misc_features = cpuid_edx(HYPERV_CPUID_FEATURES);
	ms_hyperv.hints = cpuid_eax(HYPERV_CPUID_ENLIGHTMENT_INFO);
	ms_hyperv.max_vp_index = cpuid_eax(HYPERV_CPUID_IMPLEMENT_LIMITS);
	ms_hyperv.max_lp_index = cpuid_ebx(HYPERV_CPUID_IMPLEMENT_LIMITS);

	/* hv_common_init(): the per-CPU input-page pointers and the CPU -> VP index table. */
	hyperv_pcpu_input_arg = alloc_percpu(void *);
	hv_vp_index = kmalloc_array(nr_cpu_ids, sizeof(*hv_vp_index), GFP_KERNEL);
	if (!hyperv_pcpu_input_arg || !hv_vp_index)
		pvlab_fail("shim_boot: out of guest pages for %u CPUs", nr_cpu_ids);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		hv_vp_index[cpu] = VP_INVAL;

	/* hyperv_init(): the guest OS id, then the hypercall page. */
	wrmsrl(HV_X64_MSR_GUEST_OS_ID, hv_generate_guest_id(LINUX_VERSION_CODE));
	hv_hypercall_pg = (void *)__get_free_page(GFP_KERNEL);
	if (!hv_hypercall_pg)
		pvlab_fail("shim_boot: no page for the hypercall page");
	rdmsrl(HV_X64_MSR_HYPERCALL, hypercall_msr.as_uint64);
	hypercall_msr.enable = 1;
	hypercall_msr.guest_physical_address = virt_to_phys(hv_hypercall_pg) >> HV_HYP_PAGE_SHIFT;
	wrmsrl(HV_X64_MSR_HYPERCALL, hypercall_msr.as_uint64);
}

int shim_cpu_up(void)
{
	return hv_common_cpu_init(smp_processor_id());
}
