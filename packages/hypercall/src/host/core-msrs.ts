import { GuestFault } from '../guest-fault.js';
import type { GuestMemory } from '../memory.js';
import {
  APIC_DELIVERY_FIXED,
  APIC_MIN_VECTOR,
  ApicShorthand,
  X2APIC_MSR_ICR,
  X2ApicIcr,
} from '../wire/apic.js';
import {
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  HV_X64_MSR_VP_INDEX,
  HypercallMsr,
} from '../wire/msr.js';
import type { CpuVendor } from '../wire/page.js';
import { HV_PAGE_SHIFT, hypercallPageCode } from '../wire/page.js';
import type { PartitionFeatures } from './cpuid.js';
import type { HvVpState, SyntheticMsr } from './vp-state.js';

/** What the core MSRs use of their partition (`HvPartition` is one). */
export interface CoreMsrPartition {
  readonly memory: GuestMemory;
  readonly vendor: CpuVendor;
  readonly features: PartitionFeatures;
  readonly vps: readonly HvVpState[];
  guestOsId: bigint;
  hypercallMsr: bigint;
  registerMsr(msr: SyntheticMsr): void;
  deliverInterrupt(vp: number, vector: number): void;
  diagnose(rule: string, vp: number, message: string): void;
}

/** The core's synthetic MSRs: guest OS id, hypercall page, VP index, and the x2APIC ICR. */
export function installCoreMsrs(p: CoreMsrPartition): void {
  p.registerMsr({
    msr: HV_X64_MSR_GUEST_OS_ID,
    name: 'HV_X64_MSR_GUEST_OS_ID',
    gate: 'AccessHypercallMsrs',
    read: () => p.guestOsId,
    write: (_vp, value) => {
      p.guestOsId = value;
      // Spec 01 rule 15: a zero guest OS id disables the hypercall page.
      if (value === 0n) p.hypercallMsr &= ~1n;
    },
  });
  p.registerMsr({
    msr: HV_X64_MSR_HYPERCALL,
    name: 'HV_X64_MSR_HYPERCALL',
    gate: 'AccessHypercallMsrs',
    read: () => p.hypercallMsr,
    write: (vp, value) => writeHypercallMsr(p, vp, value),
  });
  p.registerMsr({
    msr: X2APIC_MSR_ICR,
    name: 'x2APIC ICR',
    read: () => 0n,
    write: (vp, value) => writeIcr(p, vp, value),
  });
  p.registerMsr({
    msr: HV_X64_MSR_VP_INDEX,
    name: 'HV_X64_MSR_VP_INDEX',
    gate: 'AccessVpIndex',
    read: (vp) => BigInt(vp),
    write: (vp) => {
      throw new GuestFault('GP', `VP ${vp} wrote the read-only HV_X64_MSR_VP_INDEX`);
    },
  });
}

// The x2APIC ICR: fixed IPIs by physical destination (= VP index) or shorthand.
function writeIcr(p: CoreMsrPartition, vp: number, value: bigint): void {
  const icr = X2ApicIcr.decode(value);
  if (X2ApicIcr.reservedZeroBits(value) !== 0n) {
    throw new GuestFault(
      'GP',
      `VP ${vp} wrote reserved bits of the x2APIC ICR: ${X2ApicIcr.describe(value)}`,
    );
  }
  if (icr.DeliveryMode !== APIC_DELIVERY_FIXED) {
    p.diagnose(
      'x2apic.icr.delivery-mode',
      vp,
      `ICR delivery mode ${icr.DeliveryMode} is not modelled; the IPI was dropped`,
    );
    return;
  }
  // An illegal vector is dropped by the APIC (send-illegal-vector error).
  if (icr.Vector < APIC_MIN_VECTOR) return;
  const targets =
    icr.DestinationShorthand === ApicShorthand.SELF
      ? [vp]
      : icr.DestinationShorthand === ApicShorthand.NONE
        ? [icr.Destination]
        : p.vps
            .map((v) => v.index)
            .filter((i) => icr.DestinationShorthand === ApicShorthand.ALL_INCLUDING_SELF || i !== vp);
  // A destination with no VP behind it is dropped, as on hardware.
  for (const t of targets) if (t < p.vps.length) p.deliverInterrupt(t, icr.Vector);
}

function writeHypercallMsr(p: CoreMsrPartition, vp: number, value: bigint): void {
  const cur = HypercallMsr.decode(p.hypercallMsr);
  if (cur.Locked === 1) {
    throw new GuestFault('GP', `VP ${vp} wrote HV_X64_MSR_HYPERCALL after it was locked`);
  }
  const next = HypercallMsr.decode(value);
  if (next.Locked === 1 && !p.features.has('HypercallMsrLock')) {
    throw new GuestFault(
      'GP',
      `VP ${vp} set HV_X64_MSR_HYPERCALL.Locked while HypercallMsrLock is not exposed`,
    );
  }
  // Spec 01 rule 15: writes are ignored while the guest OS id is 0.
  if (p.guestOsId === 0n) return;
  if (next.Enable === 1) {
    const gpa = BigInt(next.Gpfn) << BigInt(HV_PAGE_SHIFT);
    const code = hypercallPageCode(p.vendor);
    // TLFS: a hypercall page outside the GPA space faults the MSR write with #GP.
    if (!p.memory.contains(gpa, code.length)) {
      throw new GuestFault('GP', `VP ${vp} put the hypercall page at GPA 0x${gpa.toString(16)}, outside RAM`);
    }
    p.memory.write(gpa, code);
  }
  p.hypercallMsr = value;
}
