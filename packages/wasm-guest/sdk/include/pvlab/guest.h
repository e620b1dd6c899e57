/*
 * <pvlab/guest.h>: the C API of a pvlab wasm guest (@pvlab/wasm-guest, MIT).
 *
 * The guest defines `void guest_main(int cpu)`, which runs on every vCPU, and may define
 * `void pvlab_interrupt(int vector)`. Everything else here wraps the raw imports of
 * <pvlab/imports.h> (generated from the runtime's import table) with C types, and delivers
 * pending interrupts from wasm after every exit while interrupts are enabled.
 */
#ifndef PVLAB_GUEST_H
#define PVLAB_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvlab/imports.h>

#if !defined(__wasm32__)
#error "<pvlab/guest.h> is for wasm32 guests: build with pvlab-cc (clang --target=wasm32)"
#endif

_Static_assert(sizeof(void *) == 4 && sizeof(size_t) == 4, "wasm32: 32-bit pointers");
_Static_assert(sizeof(unsigned long) == 4 && sizeof(long long) == 8, "wasm32 integer sizes");

/* ---- What the guest defines ---- */

/** Runs on every vCPU; returning means the vCPU's program passed. */
void guest_main(int cpu);
/** Called with interrupts disabled for each delivered vector (the SDK's weak default ignores it). */
void pvlab_interrupt(int vector);

/* ---- The SDK's per-vCPU state (crt.c; TLS, so each vCPU has its own) ---- */

extern _Thread_local struct pvlab_vcpu_info __pvlab_info;
/** Set to 1 by the runtime when interrupts are pending (after an exit); cleared by take_interrupt. */
extern _Thread_local volatile uint32_t __pvlab_irq_pending;
/** 1 while interrupts are enabled (RFLAGS.IF). */
extern _Thread_local volatile uint32_t __pvlab_irq_enabled;
/** Delivers every pending interrupt to pvlab_interrupt() while interrupts are enabled. */
void __pvlab_deliver(void);

/** After an exit: deliver from wasm if something is pending and interrupts are enabled. */
static inline void __pvlab_after_exit(void) {
  if (__builtin_expect(__pvlab_irq_pending != 0 && __pvlab_irq_enabled != 0, 0)) __pvlab_deliver();
}

#define __pvlab_addr(p) ((int32_t)(uintptr_t)(p))

static inline size_t __pvlab_strlen(const char *s) {
  size_t n = 0;
  while (s[n] != 0) n++;
  return n;
}

/* ---- The vCPU ---- */

static inline int pvlab_cpu(void) { return (int)__pvlab_info.cpu; }
static inline int pvlab_cpu_count(void) { return (int)__pvlab_info.cpus; }
/** true when the VM was restored from a snapshot: memory holds what the guest left there. */
static inline bool pvlab_restored(void) { return __pvlab_info.restored != 0; }

/**
 * `--guest-arg key=value`: the value's full length, or -1 when absent. Copies at most len - 1
 * bytes and a NUL into buf (like snprintf) when len > 0.
 */
static inline int pvlab_arg(const char *key, char *buf, size_t len) {
  int32_t full = __pvlab_import_guest_arg(__pvlab_addr(key), (int32_t)__pvlab_strlen(key), __pvlab_addr(buf),
                                         len > 0 ? (int32_t)(len - 1) : 0);
  if (full >= 0 && len > 0) buf[(size_t)full < len - 1 ? (size_t)full : len - 1] = 0;
  return full;
}

/* ---- Output (log.c) ---- */

/** snprintf's subset: %d %i %u %x %X %o %c %s %p %% with flags -0+ #, width, precision, hh h l ll z t j. */
int pvlab_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int pvlab_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** One line in the boot log, formatted in C (at most 511 bytes). */
void pvlab_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Ends this vCPU's program as failed with the formatted text. */
_Noreturn void pvlab_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void pvlab_report(const char *key, int64_t value) {
  __pvlab_import_report(__pvlab_addr(key), (int32_t)__pvlab_strlen(key), value);
  __pvlab_after_exit();
}

static inline void pvlab_report_str(const char *key, const char *value) {
  __pvlab_import_report_str(__pvlab_addr(key), (int32_t)__pvlab_strlen(key), __pvlab_addr(value),
                            (int32_t)__pvlab_strlen(value));
  __pvlab_after_exit();
}

/* ---- Hypercalls ---- */

/* A 64-bit register as the import's two i32 arguments, bits 31:0 first (no bigint in the host). */
#define __PVLAB_HALVES(v) (int32_t)(uint32_t)(v), (int32_t)(uint32_t)((uint64_t)(v) >> 32)

/** Memory form: RCX = control, RDX = input GPA, R8 = output GPA; returns RAX (the status in bits 15:0). */
static inline uint64_t pvlab_hypercall(uint64_t control, uint64_t input_gpa, uint64_t output_gpa) {
  uint64_t r = (uint64_t)__pvlab_import_hypercall(__PVLAB_HALVES(control), __PVLAB_HALVES(input_gpa),
                                                  __PVLAB_HALVES(output_gpa));
  __pvlab_after_exit();
  return r;
}

/** Fast form with two register inputs (set the Fast bit, 1 << 16, in control). */
static inline uint64_t pvlab_hypercall_fast(uint64_t control, uint64_t rdx, uint64_t r8) {
  uint64_t r = (uint64_t)__pvlab_import_hypercall_fast(__PVLAB_HALVES(control), __PVLAB_HALVES(rdx),
                                                       __PVLAB_HALVES(r8));
  __pvlab_after_exit();
  return r;
}

/**
 * XMM fast form: regs = RDX, R8, XMM0.lo, XMM0.hi … XMM5.hi; the first in_count are input. The
 * output slots (from the 16-byte pair after the input, slot max(2 * ceil(in_count / 2), 2)) are
 * written back in place.
 */
static inline uint64_t pvlab_hypercall_xmm(uint64_t control, uint64_t regs[14], unsigned in_count) {
  uint64_t r = (uint64_t)__pvlab_import_hypercall_xmm((int64_t)control, __pvlab_addr(regs), (int32_t)in_count);
  __pvlab_after_exit();
  return r;
}

/* ---- MSRs, CPUID, TSC ---- */

/** RDMSR; a #GP ends the vCPU's program as failed (naming the calling function). */
static inline uint64_t pvlab_rdmsr(uint32_t msr) {
  uint64_t v = (uint64_t)__pvlab_import_rdmsr((int32_t)msr);
  __pvlab_after_exit();
  return v;
}

static inline void pvlab_wrmsr(uint32_t msr, uint64_t value) {
  __pvlab_import_wrmsr((int32_t)msr, (int64_t)value);
  __pvlab_after_exit();
}

/** 0, or -5 (-EIO) on #GP with *value untouched. */
static inline int pvlab_rdmsr_safe(uint32_t msr, uint64_t *value) {
  int r = __pvlab_import_rdmsr_safe((int32_t)msr, __pvlab_addr(value));
  __pvlab_after_exit();
  return r;
}

/** 0, or -5 (-EIO) on #GP. */
static inline int pvlab_wrmsr_safe(uint32_t msr, uint64_t value) {
  int r = __pvlab_import_wrmsr_safe((int32_t)msr, (int64_t)value);
  __pvlab_after_exit();
  return r;
}

struct pvlab_cpuid {
  uint32_t eax, ebx, ecx, edx;
};
_Static_assert(sizeof(struct pvlab_cpuid) == 16, "pvlab_cpuid size");
_Static_assert(offsetof(struct pvlab_cpuid, edx) == 12, "pvlab_cpuid.edx");

static inline struct pvlab_cpuid pvlab_cpuid(uint32_t leaf) {
  struct pvlab_cpuid r;
  __pvlab_import_cpuid((int32_t)leaf, __pvlab_addr(&r));
  __pvlab_after_exit();
  return r;
}

/** The VM's clock as a 1 GHz TSC (nanoseconds); not an exit. */
static inline uint64_t pvlab_rdtsc(void) { return (uint64_t)__pvlab_import_rdtsc(); }

/* ---- Interrupts ---- */

#define PVLAB_X2APIC_MSR_ICR 0x830u

/** A native fixed IPI: WRMSR x2APIC ICR with `vector` to `cpu`. */
static inline void pvlab_send_ipi(int cpu, int vector) {
  pvlab_wrmsr(PVLAB_X2APIC_MSR_ICR, ((uint64_t)(uint32_t)cpu << 32) | (uint64_t)(vector & 0xff));
}

static inline bool pvlab_irqs_enabled(void) { return __pvlab_irq_enabled != 0; }

static inline void pvlab_irq_disable(void) {
  __pvlab_irq_enabled = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/** Enables interrupts and delivers what is pending (an interrupt window, like sti). */
static inline void pvlab_irq_enable(void) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __pvlab_irq_enabled = 1;
  __pvlab_after_exit();
}

/** Disables interrupts; returns the previous state for pvlab_irq_restore (local_irq_save). */
static inline unsigned long pvlab_irq_save(void) {
  unsigned long flags = __pvlab_irq_enabled;
  pvlab_irq_disable();
  return flags;
}

/** Restores the state pvlab_irq_save returned; re-enabling delivers what is pending. */
static inline void pvlab_irq_restore(unsigned long flags) {
  if (flags != 0) pvlab_irq_enable();
  else pvlab_irq_disable();
}

/**
 * HLT with interrupts enabled (sti; hlt, Linux's safe_halt): waits until an interrupt is pending,
 * delivers it and returns with interrupts enabled. One already pending is delivered at once.
 */
static inline void pvlab_halt(void) {
  if (__pvlab_irq_pending == 0) __pvlab_import_halt();
  pvlab_irq_enable();
}

/** PAUSE (cpu_relax): a scheduling point. A loop spinning on memory must call it to be interruptible. */
static inline void pvlab_pause(void) {
  __pvlab_import_pause();
  __pvlab_after_exit();
}

/* ---- TLB ---- */

static inline void pvlab_invlpg(uint64_t gva) {
  __pvlab_import_invlpg((int64_t)gva);
  __pvlab_after_exit();
}

static inline void pvlab_flush_tlb(bool include_global) {
  __pvlab_import_flush_tlb(include_global ? 1 : 0);
  __pvlab_after_exit();
}

/* ---- Memory (pages.c) ---- */

#define PVLAB_PAGE_SIZE 4096u

/** `count` zeroed 4 KiB pages from the page allocator (shared by all vCPUs), or NULL when none are left. */
void *pvlab_alloc_pages(unsigned count);
/** `bytes` zeroed, 16-byte aligned, from the same region (a bump: never freed), or NULL. */
void *pvlab_alloc(size_t bytes);

/** GPA = wasm address. */
static inline uint64_t pvlab_gpa(const void *p) { return (uint64_t)(uintptr_t)p; }
static inline void *pvlab_ptr(uint64_t gpa) { return (void *)(uintptr_t)gpa; }

/** Isolation VMs: reads `len` bytes at `gpa` through the boundary view (the wrong alias faults). */
static inline void pvlab_shared_read(uint64_t gpa, void *dst, size_t len) {
  __pvlab_import_shared_read((int64_t)gpa, __pvlab_addr(dst), (int32_t)len);
  __pvlab_after_exit();
}

/** Isolation VMs: writes `len` bytes to `gpa` through the boundary view (the wrong alias faults). */
static inline void pvlab_shared_write(uint64_t gpa, const void *src, size_t len) {
  __pvlab_import_shared_write((int64_t)gpa, __pvlab_addr(src), (int32_t)len);
  __pvlab_after_exit();
}

#endif /* PVLAB_GUEST_H */
