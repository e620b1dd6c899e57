// Local TLB instructions are exits the host applies to this vCPU's TLB (the test fills it first).
export default function guest(cpu) {
  cpu.invlpg(0x7000_1000n);
  if (cpu.index === 1) cpu.flushLocalTlb(true);
}
