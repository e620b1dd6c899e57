// An IPI ping-pong: vCPU 0 pings every other vCPU with a native fixed IPI (an x2APIC ICR write)
// and halts until each one pongs back. Run it:
//   pvlab-host run --vcpus 4 --guest examples/ipi-ping-pong.mjs --trace ping-pong.json
// and open the trace in https://ui.perfetto.dev to see each HLT end when its IPI lands.

const PING = 0x40;
const PONG = 0x41;

/** @param {import('@pvlab/host-emulator').GuestProgramCpu} cpu */
export default function pingPong(cpu) {
  // Vectors that arrive while we wait for another one are kept, not lost.
  const pending = new Set();
  const waitFor = (vector) => {
    while (!pending.has(vector)) for (const v of cpu.halt()) pending.add(v);
    pending.delete(vector);
  };

  if (cpu.index === 0) {
    for (let target = 1; target < cpu.vcpus; target++) {
      cpu.sendIpi(target, PING);
      waitFor(PONG);
      cpu.log(`vCPU 0: pong from vCPU ${target}`);
    }
    cpu.report('pongs', cpu.vcpus - 1);
  } else {
    waitFor(PING);
    cpu.sendIpi(0, PONG);
  }
}
