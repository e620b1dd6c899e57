// Counts boots in guest memory: a fresh VM starts each vCPU's counter at 1; a VM restored
// from a snapshot (cpu.restored) finds the counter where the last run left it and adds one.
const COUNTERS = 0x9000n;

export default function resumeCounter(cpu) {
  const at = COUNTERS + BigInt(cpu.index) * 8n;
  const before = cpu.restored ? cpu.memory.view.getBigUint64(Number(at), true) : 0n;
  if (cpu.restored && before === 0n) cpu.fail(`restored, but vCPU ${cpu.index}'s counter is 0`);
  const now = before + 1n;
  cpu.memory.view.setBigUint64(Number(at), now, true);
  cpu.report('boots', Number(now));
  cpu.report('restored', cpu.restored);
}
