// Fast-call register slots the guest does not pass read as zero on the host, whatever an
// earlier input, a host output (XMM output), a memory-form call (RDX, R8) or another exit
// (CPUID writes registers 0–3) left in them. Call codes come from the test (query string).
const params = new URL(import.meta.url).searchParams;
const FAST = 1n << 16n;
const SIX_IN = BigInt(params.get('sixIn')) | FAST;
const TWO_OUT = BigInt(params.get('twoOut')) | FAST;

export default function guest(cpu) {
  cpu.writeMsr(0x4000_0000n, 0x8100n << 48n);
  cpu.writeMsr(0x4000_0001n, 0x1000n | 1n);
  cpu.memory.writeU64(0x2000n, 1n);
  const results = [];
  results.push(cpu.fastHypercall(SIX_IN, [1n, 2n, 3n, 4n, 5n, 6n]).result);
  results.push(cpu.fastHypercall(SIX_IN, [7n]).result);
  cpu.cpuid(0x4000_0000);
  results.push(cpu.fastHypercall(SIX_IN, []).result);
  results.push(cpu.hypercall(0x0008n, 0x2000n, 0x3000n));
  results.push(cpu.fastHypercall(SIX_IN, [8n]).result);
  const out = cpu.fastHypercall(TWO_OUT, [9n]);
  results.push(out.result);
  cpu.report('output', out.output.map(String));
  results.push(cpu.fastHypercall(SIX_IN, [10n]).result);
  cpu.report('results', results.map(String));
}
