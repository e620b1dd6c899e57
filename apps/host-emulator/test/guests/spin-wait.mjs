// Every vCPU enables hypercalls (partition-wide, idempotent), checks its VP index and sends
// NotifyLongSpinWait in the memory and the fast form.
export default function guest(cpu) {
  cpu.writeMsr(0x40000000n, 0x8100n << 48n);
  cpu.writeMsr(0x40000001n, 0x1000n | 1n);
  const vp = Number(cpu.readMsr(0x40000002n));
  if (vp !== cpu.index) cpu.fail(`VP index ${vp} on vCPU ${cpu.index}`);
  const input = 0x10000n + BigInt(cpu.index) * 0x1000n;
  let ok = 0;
  for (let i = 0; i < 10; i++) {
    cpu.memory.writeU32(input, i);
    if (cpu.hypercall(0x0008n, input, 0n) === 0n) ok++;
    if (cpu.fastHypercall(0x10008n, [BigInt(i)]).result === 0n) ok++;
  }
  cpu.report('ok', ok);
  cpu.log(`vCPU ${cpu.index}: ${ok} notifications accepted`);
}
