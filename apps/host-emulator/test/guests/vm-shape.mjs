// Reports what this vCPU sees of its VM: RAM size and the partition-features CPUID leaf.
export default function guest(cpu) {
  const features = cpu.cpuid(0x4000_0003);
  cpu.report('shape', { memoryBytes: cpu.memory.size, featuresEax: features.eax, featuresEbx: features.ebx });
}
