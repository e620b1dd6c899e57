import { defineBitLayout } from './bit-layout.js';

/**
 * The x2APIC Interrupt Command Register (Intel SDM vol. 3, 11.12.9): a guest's native IPI is one
 * WRMSR to it. pvlab models fixed delivery, which is what Linux's native IPI path uses.
 */
export const X2APIC_MSR_ICR = 0x830n;

export const X2ApicIcr = defineBitLayout('x2APIC ICR', [
  { name: 'Vector', lsb: 0, width: 8 },
  { name: 'DeliveryMode', lsb: 8, width: 3 },
  { name: 'DestinationMode', lsb: 11, width: 1 },
  { name: 'Rsvd0', lsb: 12, width: 2, kind: 'reserved-zero' },
  { name: 'Level', lsb: 14, width: 1 },
  { name: 'TriggerMode', lsb: 15, width: 1 },
  { name: 'Rsvd1', lsb: 16, width: 2, kind: 'reserved-zero' },
  { name: 'DestinationShorthand', lsb: 18, width: 2 },
  { name: 'Rsvd2', lsb: 20, width: 12, kind: 'reserved-zero' },
  { name: 'Destination', lsb: 32, width: 32 },
] as const);

/** ICR delivery mode 000: fixed. */
export const APIC_DELIVERY_FIXED = 0;
/** ICR destination shorthands. */
export const ApicShorthand = { NONE: 0, SELF: 1, ALL_INCLUDING_SELF: 2, ALL_EXCLUDING_SELF: 3 } as const;
/** Vectors 0–15 are illegal for fixed interrupts (the APIC reports a send-illegal-vector error). */
export const APIC_MIN_VECTOR = 16;
