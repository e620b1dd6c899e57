// Each modelled fault reaches the guest as the host raised it: its vector, its message, the message
// as the host gave it (detail), the error code #GP pushes and the GPA of a memory intercept.
export default function guest(cpu) {
  const pastRam = BigInt(cpu.memory.size) + 0x1000n;
  const attempts = [
    () => cpu.readMsr(0x4000_00ffn), // #GP: no such MSR
    () => cpu.hypercall(0x0008n, 0n, 0n), // #UD: hypercalls are not enabled yet
    () => {
      cpu.writeMsr(0x4000_0000n, 0x8100n << 48n); // HV_X64_MSR_GUEST_OS_ID: Linux
      cpu.writeMsr(0x4000_0001n, 0x1000n | 1n); // HV_X64_MSR_HYPERCALL: enabled
      cpu.hypercall(0x0002n, pastRam, 0n); // its input outside RAM: a memory intercept
    },
  ];
  const faults = [];
  for (const attempt of attempts) {
    try {
      attempt();
      cpu.fail('an attempt that should fault completed');
    } catch (e) {
      if (e.vector === undefined) throw e;
      faults.push({
        vector: e.vector,
        message: e.message,
        detail: e.detail,
        errorCode: e.errorCode ?? null,
        gpa: e.gpa === undefined ? null : `0x${e.gpa.toString(16)}`,
      });
    }
  }
  cpu.report('faults', faults);
}
