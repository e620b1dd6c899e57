// Every vCPU halts and nobody sends an interrupt: the host must call it a deadlock, not hang.
export default function guest(cpu) {
  cpu.halt();
}
