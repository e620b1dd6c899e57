// A guest with a bug: it throws a TypeError.
export default function guest(cpu) {
  const table = undefined;
  return table[cpu.index];
}
