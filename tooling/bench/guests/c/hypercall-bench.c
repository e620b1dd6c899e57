/*
 * The C side of the bench's wasm-guest suite (MIT, ours). Built by pvlab-cc when the suite starts.
 *
 * Direct harness: the suite calls the exported bench_* functions on a createVm VP; each loops n
 * times and returns how many results were wrong, so a sample is one JS -> wasm call of a batch.
 * vCPU threads: guest_main issues fast NotifyLongSpinWait until the host sets the stop word.
 */
#include <pvlab/guest.h>

/* HvCallNotifyLongSpinWait (0x0008); the Fast bit (1 << 16) for the register form. */
#define NOTIFY 0x0008ull
#define NOTIFY_FAST (NOTIFY | (1ull << 16))
#define SPIN_COUNT 1ull
#define HV_X64_MSR_GUEST_OS_ID 0x40000000u
#define HV_X64_MSR_HYPERCALL 0x40000001u
#define LINUX_OS_ID (0x8100ull << 48)
#define HYPERCALL_PAGE 0x1000ull

/* Layout shared with tooling/bench/src/wasm/layout.ts (the memory form's input is the suite's). */
#define STOP_GPA 0x4000u
#define BATCH 200

/* Fast NotifyLongSpinWait, SpinCount in RDX: n calls through the hypercall_fast import. */
__attribute__((export_name("bench_fast"))) int bench_fast(int n) {
  int wrong = 0;
  for (int i = 0; i < n; i++)
    if (pvlab_hypercall_fast(NOTIFY_FAST, SPIN_COUNT, 0) != 0) wrong++;
  return wrong;
}

/* Memory form: the 8-byte input (SpinCount, RsvdZ) at input_gpa. */
__attribute__((export_name("bench_memory"))) int bench_memory(int n, int input_gpa) {
  int wrong = 0;
  for (int i = 0; i < n; i++)
    if (pvlab_hypercall(NOTIFY, (uint32_t)input_gpa, 0) != 0) wrong++;
  return wrong;
}

/* A cheap import that is no exit: the VM's clock (an i64 result). Wrong: it went backwards. */
__attribute__((export_name("bench_rdtsc"))) int bench_rdtsc(int n) {
  int wrong = 0;
  uint64_t last = pvlab_rdtsc();
  for (int i = 0; i < n; i++) {
    uint64_t t = pvlab_rdtsc();
    if (t < last) wrong++;
    last = t;
  }
  return wrong;
}

/* The cheapest import there is: take_interrupt with none pending (i32, no arguments). */
__attribute__((export_name("bench_take_interrupt"))) int bench_take_interrupt(int n) {
  int wrong = 0;
  for (int i = 0; i < n; i++)
    if (__pvlab_import_take_interrupt() != -1) wrong++;
  return wrong;
}

/* The floor: the same loop calling a C function the compiler may not inline. */
static volatile uint32_t floor_counter;
__attribute__((noinline)) static int floor_call(int i) {
  floor_counter = (uint32_t)i;
  return i;
}

__attribute__((export_name("bench_floor"))) int bench_floor(int n) {
  int wrong = 0;
  for (int i = 0; i < n; i++)
    if (floor_call(i) != i) wrong++;
  return wrong;
}

/*
 * vCPU threads (the peer of guests/stop-word-loop.mjs): enable hypercalls, then fast calls in
 * batches until the host sets the stop word; report the calls and how many were wrong.
 */
void guest_main(int cpu) {
  (void)cpu;
  pvlab_wrmsr(HV_X64_MSR_GUEST_OS_ID, LINUX_OS_ID);
  pvlab_wrmsr(HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE | 1);
  volatile uint32_t *stop = pvlab_ptr(STOP_GPA);
  int64_t calls = 0;
  int64_t wrong = 0;
  while (*stop == 0) {
    for (int i = 0; i < BATCH; i++)
      if (pvlab_hypercall_fast(NOTIFY_FAST, SPIN_COUNT, 0) != 0) wrong++;
    calls += BATCH;
  }
  pvlab_report("calls", calls);
  pvlab_report("wrong", wrong);
}
