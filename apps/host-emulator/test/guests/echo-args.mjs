// Reports the options it was given.
export default function guest(cpu) {
  cpu.report('args', cpu.args);
}
