/* Every import through its C wrapper, one exported function each, for the plumbing tests. */
#include "exports.h"

EXPORT(hc) uint64_t hc(uint64_t control, uint64_t in, uint64_t out) { return pvlab_hypercall(control, in, out); }
EXPORT(hc_fast) uint64_t hc_fast(uint64_t control, uint64_t rdx, uint64_t r8) {
  return pvlab_hypercall_fast(control, rdx, r8);
}

static uint64_t regs[14];
EXPORT(xmm_regs) uint64_t *xmm_regs(void) { return regs; }
EXPORT(hc_xmm) uint64_t hc_xmm(uint64_t control, unsigned in_count) {
  return pvlab_hypercall_xmm(control, regs, in_count);
}

EXPORT(rdmsr) uint64_t rdmsr(uint32_t msr) { return pvlab_rdmsr(msr); }
EXPORT(wrmsr) void wrmsr(uint32_t msr, uint64_t value) { pvlab_wrmsr(msr, value); }

static uint64_t safe_value;
EXPORT(safe_value_ptr) uint64_t *safe_value_ptr(void) { return &safe_value; }
EXPORT(rdmsr_safe) int rdmsr_safe(uint32_t msr) { return pvlab_rdmsr_safe(msr, &safe_value); }
EXPORT(wrmsr_safe) int wrmsr_safe(uint32_t msr, uint64_t value) { return pvlab_wrmsr_safe(msr, value); }

static struct pvlab_cpuid cpuid_out;
EXPORT(cpuid_ptr) struct pvlab_cpuid *cpuid_ptr(void) { return &cpuid_out; }
EXPORT(cpuid) void cpuid(uint32_t leaf) { cpuid_out = pvlab_cpuid(leaf); }

EXPORT(rdtsc) uint64_t rdtsc(void) { return pvlab_rdtsc(); }
EXPORT(halt) void halt(void) { pvlab_halt(); }
EXPORT(pause) void pause(void) { pvlab_pause(); }
EXPORT(invlpg) void invlpg(uint64_t gva) { pvlab_invlpg(gva); }
EXPORT(flush_tlb) void flush_tlb(int include_global) { pvlab_flush_tlb(include_global != 0); }
EXPORT(send_ipi) void send_ipi(int cpu, int vector) { pvlab_send_ipi(cpu, vector); }

static char arg_buf[16];
EXPORT(arg_buf_ptr) char *arg_buf_ptr(void) { return arg_buf; }
EXPORT(arg) int arg(const char *key) { return pvlab_arg(key, arg_buf, sizeof arg_buf); }
static char key_buf[64];
EXPORT(key_buf_ptr) char *key_buf_ptr(void) { return key_buf; }

EXPORT(info) void info(void) {
  pvlab_report("cpu", pvlab_cpu());
  pvlab_report("cpus", pvlab_cpu_count());
  pvlab_report("restored", pvlab_restored());
  pvlab_report("arch", __pvlab_info.arch);
  pvlab_report("pages_gpa", __pvlab_info.pages_gpa);
  pvlab_report("pages_bytes", __pvlab_info.pages_bytes);
  pvlab_report("image_end", __pvlab_info.image_end);
}

EXPORT(report_big) void report_big(void) {
  pvlab_report("small", -42);
  pvlab_report("big", INT64_MIN);
  pvlab_report_str("name", "h\xc3\xa9llo");
}

EXPORT(log_line) void log_line(int n) { pvlab_log("line %d of vCPU %d", n, pvlab_cpu()); }

EXPORT(fail_with) void fail_with(int code) { pvlab_fail("failed with code %d on vCPU %d", code, pvlab_cpu()); }

static uint8_t shared_buf[64];
EXPORT(shared_buf_ptr) uint8_t *shared_buf_ptr(void) { return shared_buf; }
EXPORT(shared_read) void shared_read(uint64_t gpa, unsigned len) { pvlab_shared_read(gpa, shared_buf, len); }
EXPORT(shared_write) void shared_write(uint64_t gpa, unsigned len) { pvlab_shared_write(gpa, shared_buf, len); }

/* Faults and traps, each in its own function so a failure can name it. */
EXPORT(read_bad_msr) uint64_t read_bad_msr(void) { return pvlab_rdmsr(0x12345678u); }
EXPORT(do_trap) void do_trap(void) { __builtin_trap(); }
EXPORT(out_of_bounds) uint32_t out_of_bounds(uint32_t addr) { return *(volatile uint32_t *)(uintptr_t)addr; }
static volatile int sink;
EXPORT(deep_fault) uint64_t deep_fault(int depth) {
  if (depth == 0) return read_bad_msr();
  uint64_t r = deep_fault(depth - 1);
  sink = depth; /* keeps the recursion a recursion */
  return r;
}
/* Faults with 256 bytes of its stack in use: the stack pointer is left moved down. */
EXPORT(stack_fault) uint64_t stack_fault(void) {
  volatile uint8_t buf[256];
  buf[0] = 1;
  uint64_t v = pvlab_rdmsr(0x12345678u);
  return v + buf[0];
}
