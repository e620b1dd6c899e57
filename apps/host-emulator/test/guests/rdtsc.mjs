// Reads the TSC around a few exits and reports the readings (as decimal strings).
export default function (cpu) {
  const readings = [];
  for (let i = 0; i < 3; i++) {
    readings.push(cpu.rdtsc());
    cpu.pause();
  }
  cpu.report('tsc', readings.map(String));
}
