import type { HypercallIo } from '@pvlab/hypercall/host';
/**
 * What the bench's peer worker (`peer-worker.ts`) and the suite share: the raw ping-pong's word
 * layout, the sample area, and the slice of the host emulator's mailbox module the diagnostics use.
 */

/**
 * The raw ping-pong's control words. They mirror the pvlab mailbox layout (`mailbox.ts`): a
 * doorbell and the host's sleeping flag in a 64-byte header, then the vCPU's state, kind,
 * sleeping flag and completion words in its own slot.
 */
export const Raw = {
  DOORBELL: 0,
  HOST_SLEEPING: 1,
  /** Set by the worker when it has finished (then it rings the doorbell once more). */
  DONE: 2,
  STATE: 16,
  KIND: 17,
  SLEEPING: 18,
  COMPLETION: 20,
  WORDS: 32,
} as const;

/** Mailbox states, as in `mailbox.ts`. */
export const State = { RUNNING: 0, EXIT: 1, COMPLETE: 2 } as const;

/** The exit kind a hypercall posts (`ExitKind.HYPERCALL` in `mailbox.ts`). */
export const KIND_HYPERCALL = 2;
/** The exit kind the peer posts when it is done (`ExitKind.DONE`). */
export const KIND_DONE = 9;

/**
 * The sample area (Float64) both the guest program and the peer worker fill:
 * [0] samples, [1] t0 and [2] t1 (ms since the epoch) of the timed part, [3] timed round trips,
 * [4] wrong results, [5] all round trips, [6] warmup round trips, [8…] ms per batch.
 */
export const SampleArea = {
  COUNT: 0,
  T0: 1,
  T1: 2,
  TIMED: 3,
  WRONG: 4,
  TOTAL: 5,
  WARMUP: 6,
  HEADER: 8,
  /** Bytes per area (the guest program uses the same stride per vCPU). */
  BYTES: 0x4_0000,
} as const;

/** What the peer worker does. */
export type PeerMode = 'raw' | 'mailbox-null' | 'mailbox-dispatch' | 'postmessage';

export interface PeerWorkerData {
  readonly mode: PeerMode;
  /** Spins before `Atomics.wait` (raw mode; the mailbox modes use the `Mailboxes` bound). */
  readonly spinLimit: number;
  /** Raw mode: `Raw.WORDS` Int32 words. Mailbox modes: the `Mailboxes` buffer. */
  readonly control: SharedArrayBuffer;
  /** Mailbox modes: the done flag (one Int32). */
  readonly flags: SharedArrayBuffer;
  /** One sample area (`SampleArea.BYTES`). */
  readonly samples: SharedArrayBuffer;
  /** `file:` URL of the host emulator's compiled `mailbox.js` (mailbox modes). */
  readonly mailboxModule: string | null;
  readonly batch: number;
  readonly warmupMs: number;
  readonly budgetMs: number;
}

/** The part of `apps/host-emulator/src/threaded/mailbox.ts` the bench uses, loaded at run time. */
export interface MailboxModule {
  readonly SPIN_LIMIT: number;
  readonly OVERSUBSCRIBED_SPIN_LIMIT: number;
  spinLimitFor(threads: number, cores: number): number;
  mailboxBytes(vcpus: number): number;
  readonly Mailboxes: new (buffer: SharedArrayBuffer, vcpus: number, spinLimit?: number) => MailboxesLike;
  /** The mailbox registers as the dispatcher's HypercallIo (what runGuest dispatches with). */
  readonly MailboxHypercallIo: new (
    mb: MailboxesLike,
    vp: number,
  ) => HypercallIo;
}

export interface MailboxesLike {
  readonly spinLimit: number;
  reg(vp: number, i: number): bigint;
  setReg(vp: number, i: number, v: bigint): void;
  kind(vp: number): number;
  postExitAndWait(vp: number, kind: number): number;
  hasExit(vp: number): boolean;
  waitForExit(watch: Uint8Array, timeoutMs: number): void;
  complete(vp: number, completion: number): void;
}
