/* pvlab Linux shim (MIT, ours): the local APIC driver hooks (<asm/apic.h>). `apic` starts as the
 * shim's x2APIC driver (physical destination mode, one ICR write per target CPU, APIC id = CPU
 * number); a file such as hv_apic.c replaces callbacks with apic_update_callback(). */
#ifndef PVLAB_SHIM_ASM_APIC_H
#define PVLAB_SHIM_ASM_APIC_H

#include <linux/types.h>
#include <linux/cpumask.h>
#include <asm/msr.h>

/* xAPIC register offsets (Intel SDM vol. 3, table 11-1) and ICR fields. */
#define APIC_TASKPRI 0x80
#define APIC_EOI 0xB0
#define APIC_EOI_ACK 0x0
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_DEST_PHYSICAL 0x00000
#define APIC_DM_FIXED 0x00000
#define SET_XAPIC_DEST_FIELD(x) ((x) << 24)
/* The x2APIC ICR MSR. */
#define APIC_BASE_MSR 0x800
#define X2APIC_ICR_MSR (APIC_BASE_MSR + (APIC_ICR >> 4))

struct apic {
	void (*eoi)(void);
	void (*write)(u32 reg, u32 v);
	u32 (*read)(u32 reg);
	void (*send_IPI)(int cpu, int vector);
	void (*send_IPI_mask)(const struct cpumask *mask, int vector);
	void (*send_IPI_mask_allbutself)(const struct cpumask *mask, int vector);
	void (*send_IPI_allbutself)(int vector);
	void (*send_IPI_all)(int vector);
	void (*send_IPI_self)(int vector);
	u64 (*icr_read)(void);
	void (*icr_write)(u32 low, u32 high);
	const char *name;
};

extern struct apic *apic;

#define apic_update_callback(callback, fn) do { apic->callback = (fn); } while (0)
#define x2apic_enabled() true
#define __apic_send_IPI(cpu, vector) apic->send_IPI((cpu), (vector))
#define __apic_send_IPI_mask(mask, vector) apic->send_IPI_mask((mask), (vector))
#define __apic_send_IPI_mask_allbutself(mask, vector) apic->send_IPI_mask_allbutself((mask), (vector))
#define __apic_send_IPI_allbutself(vector) apic->send_IPI_allbutself(vector)
#define __apic_send_IPI_all(vector) apic->send_IPI_all(vector)
#define __apic_send_IPI_self(vector) apic->send_IPI_self(vector)
#define apic_eoi() apic->eoi()

/* The xAPIC's MMIO page is not modelled: reaching it fails the run (x2apic_enabled() is true, so
 * Linux code does not go there). */
u32 native_apic_mem_read(u32 reg);
void native_apic_mem_write(u32 reg, u32 v);

#endif
