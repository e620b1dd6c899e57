import type { GuestProgramCpu } from '@pvlab/hypercall/guest';

/** What sends native IPIs: one x2APIC ICR write per target (Linux `orig_apic.send_IPI_mask`). */
export interface NativeIpiSender {
  /** Sends `vector` to each CPU of `cpus` (but this CPU when `excludeSelf`); returns the ICR writes. */
  sendIpiMask(cpus: readonly number[], vector: number, excludeSelf: boolean): number;
}

/**
 * The emulated local APIC's IPI path (x2APIC physical mode): every target costs one WRMSR to the
 * ICR, i.e. one exit. `apicIdOf` maps a CPU number to its APIC id — in Linux the firmware's
 * (`x86_cpu_to_apicid`), known for every present CPU before it comes online.
 */
export class NativeApic implements NativeIpiSender {
  readonly #cpu: Pick<GuestProgramCpu, 'sendIpi' | 'index'>;
  readonly #apicIdOf: (cpu: number) => number;
  /** ICR writes so far. */
  icrWrites = 0;

  constructor(cpu: Pick<GuestProgramCpu, 'sendIpi' | 'index'>, apicIdOf: (cpu: number) => number) {
    this.#cpu = cpu;
    this.#apicIdOf = apicIdOf;
  }

  sendIpiMask(cpus: readonly number[], vector: number, excludeSelf: boolean): number {
    let sent = 0;
    for (const cpu of cpus) {
      if (excludeSelf && cpu === this.#cpu.index) continue;
      this.#cpu.sendIpi(this.#apicIdOf(cpu) >>> 0, vector);
      sent++;
    }
    this.icrWrites += sent;
    return sent;
  }
}
