/** A VP's VTL state: which VTLs it runs and has enabled, and a register file per VTL. */

/** One VTL's private register state on one VP (the registers kept as plain values). */
export class VpVtlRegisters {
  /** Stored registers by name (ExplicitSuspend, InterceptSuspend, VpAssistPage, …); absent = 0. */
  readonly values = new Map<number, bigint>();
  /** The HV_INITIAL_VP_CONTEXT this VTL was enabled with (a copy of the 224 bytes). */
  initialContext: Uint8Array | undefined;

  get(name: number): bigint {
    return this.values.get(name) ?? 0n;
  }
  set(name: number, value: bigint): void {
    if (value === 0n) this.values.delete(name);
    else this.values.set(name, value);
  }
}

/** Per-VP VTL state: the active VTL, the VTLs enabled on it, and a register file per VTL. */
export class VpVtlState {
  readonly index: number;
  activeVtl = 0;
  /** Bit n set = VTL n enabled on this VP (VTL0 always is). */
  enabledVtls = 1;
  /** The VTLs VtlCall left, innermost last; VtlReturn goes back to the last one. */
  readonly callStack: number[] = [];
  /** The host's KVM-style inhibit (`setTlbFlushInhibit`), ORed with the guest-visible TlbLocked bits. */
  hostTlbInhibit = false;
  readonly #vtls: VpVtlRegisters[];

  constructor(index: number, vtls: number) {
    this.index = index;
    this.#vtls = Array.from({ length: vtls }, () => new VpVtlRegisters());
  }

  /** The register file of `vtl` (0..maximumVtl). */
  registers(vtl: number): VpVtlRegisters {
    const r = this.#vtls[vtl];
    if (r === undefined) throw new RangeError(`VTL ${vtl} is not modelled: use 0..${this.#vtls.length - 1}`);
    return r;
  }

  /** Every VTL's register file, VTL0 first. */
  get allRegisters(): readonly VpVtlRegisters[] {
    return this.#vtls;
  }
}
