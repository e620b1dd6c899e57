// Reports what this vCPU thread sees of the end of RAM: its size, the memory behind it, the last
// byte (written by the test before the run) and the first GPA past it, in RAM and, in an
// isolation VM, in the guest's boundary view.
function outcome(f) {
  try {
    return f();
  } catch (e) {
    return e && e.name === 'GuestFault' ? e.message : String(e);
  }
}

export default function ramEdge(cpu) {
  const { memory } = cpu;
  const end = BigInt(memory.size);
  const view = cpu.isolation?.memory;
  cpu.report('ram', {
    size: memory.size,
    bufferBytes: memory.buffer.byteLength,
    wasmMemory: memory.wasmMemory instanceof WebAssembly.Memory && memory.wasmMemory.buffer === memory.buffer,
    last: memory.readU8(end - 1n),
    past: outcome(() => memory.readU8(end)),
    isolationSize: view === undefined ? null : view.size,
    isolationPast: view === undefined ? null : outcome(() => view.read(end, 1)),
  });
}
