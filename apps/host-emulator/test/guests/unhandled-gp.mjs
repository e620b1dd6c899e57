// Reads an MSR that does not exist and does not catch the #GP: a failing guest.
export default function guest(cpu) {
  cpu.readMsr(0x400000ffn);
}
