// Faults are delivered to the guest: an unknown MSR is #GP, a hypercall before enabling is #UD.
export default function guest(cpu) {
  const vectors = [];
  for (const attempt of [() => cpu.readMsr(0x4000_00ffn), () => cpu.hypercall(0x0008n, 0n, 0n)]) {
    try {
      attempt();
    } catch (e) {
      vectors.push(e.vector);
    }
  }
  cpu.report('vectors', vectors);
}
