import { GuestFault } from '@pvlab/hypercall';
import { hostVisibilityName } from './wire/visibility.js';

/** How an access reached (or failed to reach) a page. */
export type AccessKind = 'read' | 'write';

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/** What the guest touched when it used the wrong alias of a page. */
export interface IsolationFaultDetails {
  /** The GPA the guest used. */
  readonly gpa: bigint;
  readonly access: AccessKind;
  /** `private` (GPA below the boundary) or `shared` (through the alias). */
  readonly side: 'private' | 'shared';
  /** The RAM page behind the GPA. */
  readonly pfn: bigint;
  /** The page's HostVisibility at the time of the access. */
  readonly visibility: number;
  /** The GPA the guest should have used for this byte. */
  readonly correctGpa: bigint;
  /** Which guest object the access served (e.g. `VMBus monitor page`), when known. */
  readonly place?: string | undefined;
}

/**
 * Spec 05 rule 3: a guest access through the wrong alias — a private page above the boundary, or
 * a shared page below it. A `GuestFault` with vector `MEMORY` (a memory intercept the paravisor
 * sees), carrying the page, its visibility and the GPA that would have worked.
 */
export class IsolationFault extends GuestFault {
  readonly details: IsolationFaultDetails;

  constructor(details: IsolationFaultDetails) {
    const { gpa, access, side, pfn, visibility, correctGpa, place } = details;
    const state = visibility === 0 ? 'private (NOT_VISIBLE)' : `shared (${hostVisibilityName(visibility)})`;
    super(
      'MEMORY',
      `${place === undefined ? '' : `${place}: `}guest ${access} of GPA ${hex(gpa)} through the ${side} alias, ` +
        `but page ${hex(pfn)} is ${state}: use ${hex(correctGpa)}${side === 'private' ? ' (the shared alias, GPA | boundary)' : ' (the private GPA)'}`,
      gpa,
    );
    this.details = details;
  }

  /** The place named in the fault, if any. */
  get place(): string | undefined {
    return this.details.place;
  }
}

/** Why the host's accessor refused an access. */
export type HostAccessRefusal =
  /** The GPA is below the boundary: private space, never reachable by the host. */
  | 'below-boundary'
  /** The alias names no RAM page. */
  | 'outside-ram'
  /** The page is private (NOT_VISIBLE). */
  | 'not-visible'
  /** A write to a READ_ONLY page. */
  | 'read-only';

/** The facts of a refused host access. */
export interface HostAccessDetails {
  readonly gpa: bigint;
  readonly length: number;
  readonly access: AccessKind;
  readonly reason: HostAccessRefusal;
  /** The first page refused (for `not-visible` / `read-only` / `below-boundary` inside RAM). */
  readonly pfn?: bigint | undefined;
  /** Its visibility when known. */
  readonly visibility?: number | undefined;
  readonly boundary: bigint;
  readonly place?: string | undefined;
}

function hostMessage(d: HostAccessDetails): string {
  const what = `${d.place === undefined ? '' : `${d.place}: `}host ${d.access} of GPA ${hex(d.gpa)} (+${d.length} bytes) refused`;
  const vis = d.visibility === undefined ? '' : ` (${hostVisibilityName(d.visibility)})`;
  const page = d.pfn === undefined ? '' : `page ${hex(d.pfn)}${vis}`;
  const rule = `the host may read READ_ONLY/READ_WRITE pages and write READ_WRITE pages, only through the alias GPA | ${hex(d.boundary)}`;
  switch (d.reason) {
    case 'below-boundary':
      return `${what}: below the shared GPA boundary ${hex(d.boundary)}, private space${page === '' ? '' : ` (${page})`}; ${rule}`;
    case 'outside-ram':
      return `${what}: the alias names no RAM page; ${rule}`;
    case 'not-visible':
      return `${what}: ${page} is private; ${rule}`;
    case 'read-only':
      return `${what}: ${page} is not host-writable; ${rule}`;
  }
}

/**
 * The host touched memory it may not (spec 05 rule 10): a private page, a GPA below the boundary,
 * or a write to a READ_ONLY page. One line naming the GPA, the page, its visibility and what is
 * allowed. A host-side error, never a guest fault: the trace shows it.
 */
export class HostAccessError extends Error {
  override readonly name = 'HostAccessError';
  readonly details: HostAccessDetails;

  constructor(details: HostAccessDetails) {
    super(hostMessage(details));
    this.details = details;
  }
}
