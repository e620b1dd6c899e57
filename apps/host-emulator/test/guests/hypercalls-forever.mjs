// Logs a marker, then makes a hypercall about every millisecond until the host stops it: a run
// that only a signal (or --timeout) ends, with a trace that stays small however long it runs.
// With `every=<n>` it also logs a line every n calls (output while the progress line is up).
export default function guest(cpu) {
  const every = Number(cpu.args.every ?? 0);
  cpu.writeMsr(0x4000_0000n, 0x8100n << 48n);
  cpu.writeMsr(0x4000_0001n, 0x1000n | 1n);
  cpu.log('guest: running until stopped');
  for (let i = 1; ; i++) {
    // Whatever status the host answers with, the call never faults.
    cpu.fastHypercall(0x0002n | (1n << 16n), [0n, 0n, 0n]);
    if (every > 0 && i % every === 0) cpu.log(`guest: ${i} calls`);
    const next = performance.now() + 1;
    while (performance.now() < next) {}
  }
}
