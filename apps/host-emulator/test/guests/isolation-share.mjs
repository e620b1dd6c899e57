// An isolation-VM guest: vCPU 0 makes one page host-visible with
// HvCallModifySparseGpaPageHostVisibility (0x00DB), writes a message to it through its shared
// alias, and checks that the wrong alias faults both ways (the private page through the alias,
// the shared page below the boundary). Reports what it saw.
const GUEST_OS_ID = 0x40000000n;
const HYPERCALL = 0x40000001n;
const INPUT = 0x2000n;
const PAGE = 0x40n;
const MESSAGE = [0x70, 0x76, 0x6c, 0x61, 0x62]; // "pvlab"

function faults(f) {
  try {
    f();
    return 'no fault';
  } catch (e) {
    return e && e.name === 'GuestFault' ? `#${e.vector}` : String(e);
  }
}

export default function share(cpu) {
  if (cpu.index !== 0) return;
  if (!cpu.isolation) cpu.fail('not an isolation VM');
  const { boundary, memory } = cpu.isolation;
  cpu.writeMsr(GUEST_OS_ID, 0x8100n << 48n);
  cpu.writeMsr(HYPERCALL, 0x1000n | 1n);
  const gpa = PAGE << 12n;
  cpu.report(
    'privateThroughAlias',
    faults(() => memory.read(gpa | boundary, 1)),
  );
  // The input list lives on a private page: the hypervisor reads it, the host never sees it.
  cpu.memory.writeU64(INPUT, 0xffff_ffff_ffff_ffffn); // HV_PARTITION_ID_SELF
  cpu.memory.writeU64(INPUT + 8n, 3n); // READ_WRITE
  cpu.memory.writeU64(INPUT + 16n, PAGE);
  const result = cpu.hypercall(0x00dbn | (1n << 32n), INPUT, 0n);
  if ((result & 0xffffn) !== 0n) cpu.fail(`0x00DB failed with status 0x${(result & 0xffffn).toString(16)}`);
  memory.write(gpa | boundary, Uint8Array.from(MESSAGE));
  cpu.report(
    'sharedBelowBoundary',
    faults(() => memory.read(gpa, 1)),
  );
  cpu.report('sharedThroughAlias', [...memory.read(gpa | boundary, MESSAGE.length)]);
}
