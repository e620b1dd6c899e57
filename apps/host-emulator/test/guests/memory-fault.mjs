// A memory-form hypercall whose input GPA is past the end of RAM: the host cannot read the input
// page, so the call ends in a memory intercept (#MEMORY), delivered to the guest as a GuestFault.
export default function guest(cpu) {
  cpu.writeMsr(0x4000_0000n, 0x8100n << 48n); // HV_X64_MSR_GUEST_OS_ID: Linux
  cpu.writeMsr(0x4000_0001n, 0x1000n | 1n); // HV_X64_MSR_HYPERCALL: enabled
  const pastRam = BigInt(cpu.memory.size) + 0x1000n;
  try {
    cpu.hypercall(0x0002n, pastRam, 0n); // HvCallFlushVirtualAddressSpace
    cpu.fail('a hypercall with its input outside RAM completed');
  } catch (e) {
    if (e.vector !== 'MEMORY') throw e;
    cpu.report('fault', e.message);
  }
}
