/*
 * Test driver (MIT, ours): Linux's per-CPU bring-up with IPIs in flight, on vCPU threads.
 *
 * guest_main runs on every vCPU. CPU 0 boots (shim_boot, hv_apic_init) and lets the others go;
 * each CPU brings itself up with Linux's hv_common_cpu_init() (shim_cpu_up) while the CPUs
 * already up send it requests, then sends its own requests through `apic` (hv_apic.c) and waits
 * for every target's answer. A message is a bit in the receiver's bitmap and the IPI only a kick
 * (the APIC merges a vector sent twice before it is taken, so bits carry the messages, as Linux's
 * call_single_queue does): a request sets the sender's bit in the target's REQ bitmap, an answer
 * the target's bit in the sender's ACK bitmap, and only the receiver's interrupt handler reads
 * them. So a lost IPI that no later one covers leaves a CPU halted for ever: the host reports the
 * deadlock and the run fails.
 */
#include <linux/kernel.h>
#include <asm/apic.h>
#include <asm/mshyperv.h>
#include <pvlab-shim/boot.h>

#define REQ 0xf1
#define ACK 0xf2
#define DONE 0xf3

static u32 booted;
static u32 done;
static unsigned int words;	/* words of one CPU's bitmap */
static unsigned long *requests;	/* [target * words + w]: bit s = CPU s asks */
static unsigned long *acks;	/* [sender * words + w]: bit t = CPU t answered */
static u32 *answers;		/* [cpu]: answers its ACK handler took */
static u32 *served;		/* [cpu]: requests its REQ handler answered */

/* Runs with interrupts disabled: takes the messages of this vector from this CPU's bitmap. */
void pvlab_interrupt(int vector)
{
	unsigned int me = smp_processor_id();
	unsigned long *bitmap = vector == REQ ? requests : acks;

	if (vector != REQ && vector != ACK)
		return;
	BUG_ON(!__atomic_load_n(&booted, __ATOMIC_ACQUIRE));
	for (unsigned int w = 0; w < words; w++) {
		unsigned long bits = xchg(&bitmap[me * words + w], 0UL);

		if (vector == ACK) {
			answers[me] += hweight_long(bits);
			continue;
		}
		while (bits) {
			unsigned int sender = w * BITS_PER_LONG + __ffs(bits);

			bits &= bits - 1;
			served[me]++;
			set_bit(me, &acks[sender * words]);
			apic->send_IPI(sender, ACK);
		}
	}
}

/* Halts until `counter` (which an interrupt handler advances) reaches `value`. */
static void wait_until(u32 *counter, u32 value)
{
	while (__atomic_load_n(counter, __ATOMIC_SEQ_CST) < value)
		pvlab_halt();
}

/* Round r's targets (spread over the VP banks) and how it sends to them. */
static unsigned int send_round(unsigned int me, unsigned int r, struct cpumask *mask)
{
	unsigned int n = nr_cpu_ids, count = 0, cpu;

	cpumask_clear(mask);
	switch (r % 4) {
	case 0: /* send_IPI: one CPU */
		__cpumask_set_cpu((me + 1 + r) % n, mask);
		break;
	case 1: /* send_IPI_mask: three CPUs a third of the VM apart */
	case 2: /* send_IPI_mask_allbutself, the sender in the mask */
		for (unsigned int k = 0; k < 3; k++)
			__cpumask_set_cpu((me + 1 + r + k * (n / 3)) % n, mask);
		if (r % 4 == 2)
			__cpumask_set_cpu(me, mask);
		break;
	default: /* send_IPI_allbutself */
		cpumask_setall(mask);
		break;
	}
	for_each_cpu(cpu, mask) {
		if (r % 4 >= 2 && cpu == me)
			continue;
		set_bit(me, &requests[cpu * words]);
		count++;
	}
	switch (r % 4) {
	case 0: apic->send_IPI(cpumask_first(mask), REQ); break;
	case 1: apic->send_IPI_mask(mask, REQ); break;
	case 2: apic->send_IPI_mask_allbutself(mask, REQ); break;
	default: apic->send_IPI_allbutself(REQ); break;
	}
	return count;
}

/* --guest-arg rounds=N (default 4). */
static unsigned int rounds_arg(void)
{
	char arg[8];
	unsigned int n = 0;

	if (pvlab_arg("rounds", arg, sizeof(arg)) <= 0)
		return 4;
	for (char *c = arg; *c >= '0' && *c <= '9'; c++)
		n = n * 10 + (unsigned int)(*c - '0');
	return n;
}

void guest_main(int cpu)
{
	unsigned int rounds = rounds_arg();
	u32 expected = 0;
	struct cpumask *mask;

	if (cpu == 0) {
		shim_boot();
		hv_apic_init();
		words = BITS_TO_LONGS(nr_cpu_ids);
		requests = kcalloc(nr_cpu_ids * words, sizeof(*requests), GFP_KERNEL);
		acks = kcalloc(nr_cpu_ids * words, sizeof(*acks), GFP_KERNEL);
		answers = kcalloc(nr_cpu_ids, sizeof(*answers), GFP_KERNEL);
		served = kcalloc(nr_cpu_ids, sizeof(*served), GFP_KERNEL);
		__atomic_store_n(&booted, 1, __ATOMIC_RELEASE);
	} else {
		while (!__atomic_load_n(&booted, __ATOMIC_ACQUIRE))
			cpu_relax();
	}
	if (shim_cpu_up())
		pvlab_fail("hv_common_cpu_init(%d) failed", cpu);
	mask = kmalloc(sizeof(*mask), GFP_KERNEL);
	for (unsigned int r = 0; r < rounds; r++) {
		u32 before = __atomic_load_n(&answers[cpu], __ATOMIC_SEQ_CST);
		unsigned int count = send_round(cpu, r, mask);

		wait_until(&answers[cpu], before + count);
		expected += count;
	}
	if (__atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST) == nr_cpu_ids)
		apic->send_IPI_allbutself(DONE);
	else
		wait_until(&done, nr_cpu_ids);
	pvlab_report("sent", expected);
	pvlab_report("answers", __atomic_load_n(&answers[cpu], __ATOMIC_SEQ_CST));
	pvlab_report("served", served[cpu]);
	pvlab_report("vp_index", hv_vp_index[cpu]);
}
