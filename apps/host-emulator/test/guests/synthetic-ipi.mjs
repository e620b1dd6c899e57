// vCPU 0 flushes every VP's TLB with HvCallFlushVirtualAddressSpace (XMM fast, ALL_PROCESSORS),
// then wakes every other vCPU with one HvCallSendSyntheticClusterIpi (register fast form); each
// other vCPU halts until the vector arrives.
const VECTOR = 0x50;

export default function guest(cpu) {
  cpu.writeMsr(0x40000000n, 0x8100n << 48n);
  cpu.writeMsr(0x40000001n, 0x1000n | 1n);
  if (cpu.index === 0) {
    // RDX = AddressSpace, R8 = Flags (ALL_PROCESSORS | ALL_VIRTUAL_ADDRESS_SPACES), XMM0.lo = mask.
    const flush = cpu.fastHypercall(0x10002n, [0n, 0x3n, 0n]);
    if (flush.result !== 0n) cpu.fail(`flush returned 0x${flush.result.toString(16)}`);
    let mask = 0n;
    for (let vp = 1; vp < cpu.vcpus; vp++) mask |= 1n << BigInt(vp);
    const ipi = cpu.fastHypercall(0x1000bn, [BigInt(VECTOR), mask]);
    if (ipi.result !== 0n) cpu.fail(`IPI returned 0x${ipi.result.toString(16)}`);
    cpu.report('sent', cpu.vcpus - 1);
  } else {
    const seen = [];
    while (!seen.includes(VECTOR)) seen.push(...cpu.halt());
    cpu.report('woken', true);
  }
}
