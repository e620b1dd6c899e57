// Spins without a single exit: only the run's timeout can stop it.
export default function guest() {
  for (;;) {}
}
