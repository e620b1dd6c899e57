/* pvlab Linux shim (MIT, ours): the run-time side of the stand-in headers — CPU masks, per-CPU
 * areas, kmalloc, string functions and the native x2APIC driver `apic` starts with. */
#include <linux/kernel.h>
#include <asm/apic.h>

_Static_assert(BITS_PER_LONG == 8 * sizeof(long), "BITS_PER_LONG");

unsigned int nr_cpu_ids;
struct cpumask __pvlab_cpu_all_mask;

/* Every per-CPU allocation is an array of nr_cpu_ids elements (see <linux/percpu.h>). */
void *__pvlab_alloc_percpu(size_t size, size_t align)
{
	if (!nr_cpu_ids)
		pvlab_fail("alloc_percpu before shim_boot(): nr_cpu_ids is not known yet");
	if (align > 16)
		pvlab_fail("alloc_percpu: alignment %zu is more than the shim's 16", align);
	return pvlab_alloc(array_size(size, nr_cpu_ids));
}

static struct cpumask *cpumask_of_scratch;

/* Called by shim_boot() once, before any other vCPU runs kernel code. */
void __pvlab_kernel_init(unsigned int cpus)
{
	if (cpus < 1 || cpus > NR_CPUS)
		pvlab_fail("the Linux shim is built for 1..%d CPUs (NR_CPUS); this VM has %u", NR_CPUS, cpus);
	nr_cpu_ids = cpus;
	cpumask_setall(&__pvlab_cpu_all_mask);
	cpumask_of_scratch = alloc_percpu(struct cpumask);
}

const struct cpumask *__pvlab_cpumask_of(unsigned int cpu)
{
	struct cpumask *m = this_cpu_ptr(cpumask_of_scratch);

	cpumask_clear(m);
	__cpumask_set_cpu(cpu, m);
	return m;
}

/* Like the kernel's, a power-of-two size is naturally aligned: a page or more is whole pages, a
 * smaller power of two is taken from a block twice its size. */
void *kmalloc(size_t size, gfp_t flags)
{
	void *p;

	(void)flags;
	if (size >= PAGE_SIZE)
		return pvlab_alloc_pages(DIV_ROUND_UP(size, PAGE_SIZE));
	if (size <= 16 || (size & (size - 1)))
		return pvlab_alloc(size);
	p = pvlab_alloc(2 * size);
	return p ? (void *)ALIGN((uintptr_t)p, size) : NULL;
}

unsigned long __get_free_pages(gfp_t gfp, unsigned int order)
{
	(void)gfp;
	return (unsigned long)pvlab_alloc_pages(1u << order);
}

/* One pvlab_log line per call, without the kernel's trailing newline. */
void __pvlab_printk(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = pvlab_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = 0;
	pvlab_log("%s", line);
}

/* Weak: the SDK's C runtime may define them too. */
__weak size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

__weak int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

__weak int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, SIZE_MAX);
}

__weak int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

/* The ordinary partitions the shim runs are neither SNP nor TDX guests. */
bool hv_isolation_type_snp(void) { return false; }
bool hv_isolation_type_tdx(void) { return false; }

/* The native APIC: x2APIC physical destination mode, APIC id = CPU number, one ICR write (an
 * exit) per target, as pvlab's NativeApic models it. */
static void x2apic_send_IPI(int cpu, int vector)
{
	pvlab_send_ipi(cpu, vector);
}

static void x2apic_send_mask(const struct cpumask *mask, int vector, bool exclude_self)
{
	unsigned int self = smp_processor_id();
	int cpu;

	for_each_cpu(cpu, mask)
		if (!exclude_self || (unsigned int)cpu != self)
			pvlab_send_ipi(cpu, vector);
}

static void x2apic_send_IPI_mask(const struct cpumask *mask, int vector)
{
	x2apic_send_mask(mask, vector, false);
}

static void x2apic_send_IPI_mask_allbutself(const struct cpumask *mask, int vector)
{
	x2apic_send_mask(mask, vector, true);
}

static void x2apic_send_IPI_allbutself(int vector)
{
	x2apic_send_mask(cpu_online_mask, vector, true);
}

static void x2apic_send_IPI_all(int vector)
{
	x2apic_send_mask(cpu_online_mask, vector, false);
}

static void x2apic_send_IPI_self(int vector)
{
	pvlab_send_ipi(smp_processor_id(), vector);
}

static void x2apic_icr_write(u32 low, u32 high)
{
	pvlab_wrmsr(X2APIC_ICR_MSR, ((u64)high << 32) | low);
}

static u64 x2apic_icr_read(void)
{
	return pvlab_rdmsr(X2APIC_ICR_MSR);
}

/* The SDK acknowledges an interrupt when it takes it: there is no EOI to write. */
static void x2apic_eoi(void)
{
}

u32 native_apic_mem_read(u32 reg)
{
	pvlab_fail("xAPIC MMIO read of register 0x%x: the shim's APIC is an x2APIC", reg);
}

void native_apic_mem_write(u32 reg, u32 v)
{
	pvlab_fail("xAPIC MMIO write of 0x%x to register 0x%x: the shim's APIC is an x2APIC", v, reg);
}

static struct apic x2apic_phys = {
	.name = "physical x2apic (pvlab shim)",
	.eoi = x2apic_eoi,
	.read = native_apic_mem_read,
	.write = native_apic_mem_write,
	.send_IPI = x2apic_send_IPI,
	.send_IPI_mask = x2apic_send_IPI_mask,
	.send_IPI_mask_allbutself = x2apic_send_IPI_mask_allbutself,
	.send_IPI_allbutself = x2apic_send_IPI_allbutself,
	.send_IPI_all = x2apic_send_IPI_all,
	.send_IPI_self = x2apic_send_IPI_self,
	.icr_read = x2apic_icr_read,
	.icr_write = x2apic_icr_write,
};

struct apic *apic = &x2apic_phys;
