// A conformance check written as a guest: every vCPU enables hypercalls and checks that the host
// answers malformed calls with the statuses spec 01 names. Run it:
//   pvlab-host run --vcpus 2 --guest examples/hypercall-statuses.mjs
// It exits 0 when every status matches, 1 with the first mismatch otherwise.

const HV_X64_MSR_GUEST_OS_ID = 0x40000000n;
const HV_X64_MSR_HYPERCALL = 0x40000001n;
const NOTIFY_LONG_SPIN_WAIT = 0x0008n;
const FAST = 1n << 16n;
const status = (result) => Number(result & 0xffffn);

/** @param {import('@pvlab/host-emulator').GuestProgramCpu} cpu */
export default function hypercallStatuses(cpu) {
  // Linux reports itself first; the hypercall page is ignored until then (spec 01 rule 15).
  cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, 0x8100n << 48n);
  cpu.writeMsr(HV_X64_MSR_HYPERCALL, 0x1000n | 1n);

  // Each vCPU uses its own input page.
  const input = 0x20000n + BigInt(cpu.index) * 0x1000n;
  cpu.memory.writeU32(input, 100);

  const cases = [
    ['NotifyLongSpinWait, memory form', () => cpu.hypercall(NOTIFY_LONG_SPIN_WAIT, input, 0n), 0x0000],
    [
      'NotifyLongSpinWait, fast form',
      () => cpu.fastHypercall(NOTIFY_LONG_SPIN_WAIT | FAST, [100n]).result,
      0x0000,
    ],
    ['an unknown call code (rule 1)', () => cpu.hypercall(0x7777n, input, 0n), 0x0002],
    [
      'a reserved control bit (rule 1)',
      () => cpu.hypercall(NOTIFY_LONG_SPIN_WAIT | (1n << 27n), input, 0n),
      0x0003,
    ],
    [
      'RepCount on a simple call (rule 2)',
      () => cpu.hypercall(NOTIFY_LONG_SPIN_WAIT | (1n << 32n), input, 0n),
      0x0003,
    ],
    ['a misaligned input GPA (rule 4)', () => cpu.hypercall(NOTIFY_LONG_SPIN_WAIT, input + 4n, 0n), 0x0004],
    [
      'an input GPA beyond the GPA space (rule 5)',
      () => cpu.hypercall(NOTIFY_LONG_SPIN_WAIT, 1n << 60n, 0n),
      0x0004,
    ],
  ];
  for (const [name, call, expected] of cases) {
    const got = status(call());
    if (got !== expected)
      cpu.fail(`${name}: expected status 0x${expected.toString(16)}, got 0x${got.toString(16)}`);
  }
  cpu.report('cases', cases.length);
  cpu.log(`vCPU ${cpu.index}: ${cases.length} hypercall statuses as the spec says`);
}
