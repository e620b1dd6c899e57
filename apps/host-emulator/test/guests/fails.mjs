// Fails on purpose: vCPU 1 expects a VP index it will not get.
export default function guest(cpu) {
  const vp = Number(cpu.readMsr(0x40000002n));
  const expected = cpu.index === 1 ? 7 : cpu.index;
  if (vp !== expected) cpu.fail(`vCPU ${cpu.index} expected VP index ${expected}, read ${vp}`);
}
