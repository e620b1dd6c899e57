/**
 * The bench's peer thread: the "guest" side of a two-thread round trip. It times batches of round
 * trips the same way the guest program does (performance.now() around each batch, after a warmup)
 * and writes them to its sample area; the main thread plays the host.
 *
 * - `raw`: a bare Atomics ping-pong with the pvlab mailbox's protocol (post, ring the doorbell and
 *   notify only when the host sleeps; the host spins on the state word; spin up to `spinLimit`,
 *   then `Atomics.wait` with a sleeping flag).
 * - `mailbox-null`: the host emulator's own `Mailboxes` class, an exit with no registers.
 * - `mailbox-dispatch`: `Mailboxes` carrying the control and RDX; the host dispatches the call.
 * - `postmessage`: a message to the main thread and its reply.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeHypercallControl, HvCallCode } from '@pvlab/hypercall';
import {
  KIND_DONE,
  KIND_HYPERCALL,
  type MailboxesLike,
  type MailboxModule,
  type PeerWorkerData,
  Raw,
  SampleArea,
  State,
} from './protocol.js';

const data = workerData as PeerWorkerData;
const out = new Float64Array(data.samples);
const clock = () => performance.timeOrigin + performance.now();
const NOTIFY_FAST = encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait, fast: true });

/** One raw round trip: the same accesses, in the same order, as `Mailboxes.postExit` + `waitForCompletion`. */
function rawRoundTrip(w: Int32Array, spinLimit: number): number {
  w[Raw.KIND] = KIND_HYPERCALL;
  Atomics.store(w, Raw.STATE, State.EXIT);
  if (Atomics.load(w, Raw.HOST_SLEEPING) !== 0) {
    Atomics.add(w, Raw.DOORBELL, 1);
    Atomics.notify(w, Raw.DOORBELL);
  }
  for (let i = 0; i < spinLimit; i++) {
    if (Atomics.load(w, Raw.STATE) === State.COMPLETE) return w[Raw.COMPLETION]!;
  }
  while (Atomics.load(w, Raw.STATE) !== State.COMPLETE) {
    Atomics.store(w, Raw.SLEEPING, 1);
    Atomics.wait(w, Raw.STATE, State.EXIT);
    Atomics.store(w, Raw.SLEEPING, 0);
  }
  return w[Raw.COMPLETION]!;
}

function rawBatch(w: Int32Array, spinLimit: number, n: number): number {
  let wrong = 0;
  for (let i = 0; i < n; i++) if (rawRoundTrip(w, spinLimit) !== 0) wrong++;
  return wrong;
}

function mailboxNullBatch(mb: MailboxesLike, n: number): number {
  let wrong = 0;
  for (let i = 0; i < n; i++) if (mb.postExitAndWait(0, KIND_HYPERCALL) !== 0) wrong++;
  return wrong;
}

function mailboxDispatchBatch(mb: MailboxesLike, n: number): number {
  let wrong = 0;
  for (let i = 0; i < n; i++) {
    mb.setReg(0, 0, NOTIFY_FAST);
    mb.setReg(0, 1, 1n);
    if (mb.postExitAndWait(0, KIND_HYPERCALL) !== 0 || mb.reg(0, 0) !== 0n) wrong++;
  }
  return wrong;
}

/** Warmup, then timed batches until the budget is spent; fills the sample area. */
function timeBatches(batch: (n: number) => number): void {
  let wrong = 0;
  let total = 0;
  const warmupEnd = clock() + data.warmupMs;
  while (clock() < warmupEnd) {
    wrong += batch(data.batch);
    total += data.batch;
  }
  const warmup = total;
  const max = out.length - SampleArea.HEADER;
  let samples = 0;
  const t0 = clock();
  const end = t0 + data.budgetMs;
  let t = t0;
  while (t < end && samples < max) {
    wrong += batch(data.batch);
    const now = clock();
    out[SampleArea.HEADER + samples++] = now - t;
    t = now;
    total += data.batch;
  }
  out[SampleArea.COUNT] = samples;
  out[SampleArea.T0] = t0;
  out[SampleArea.T1] = t;
  out[SampleArea.TIMED] = total - warmup;
  out[SampleArea.WRONG] = wrong;
  out[SampleArea.TOTAL] = total;
  out[SampleArea.WARMUP] = warmup;
}

async function postMessageLoop(): Promise<void> {
  const port = parentPort!;
  let wake: (() => void) | undefined;
  let replies = 0;
  let wrong = 0;
  let expect = 0;
  port.on('message', (m: number) => {
    if (m !== expect) wrong++;
    replies++;
    wake?.();
  });
  const roundTrip = (i: number) =>
    new Promise<void>((resolve) => {
      expect = i;
      wake = resolve;
      port.postMessage(i);
    });
  let total = 0;
  const warmupEnd = clock() + data.warmupMs;
  while (clock() < warmupEnd) {
    for (let i = 0; i < data.batch; i++) await roundTrip(total++);
  }
  const warmup = total;
  const max = out.length - SampleArea.HEADER;
  let samples = 0;
  const t0 = clock();
  const end = t0 + data.budgetMs;
  let t = t0;
  while (t < end && samples < max) {
    for (let i = 0; i < data.batch; i++) await roundTrip(total++);
    const now = clock();
    out[SampleArea.HEADER + samples++] = now - t;
    t = now;
  }
  out[SampleArea.COUNT] = samples;
  out[SampleArea.T0] = t0;
  out[SampleArea.T1] = t;
  out[SampleArea.TIMED] = total - warmup;
  out[SampleArea.WRONG] = wrong + (replies === total ? 0 : 1);
  out[SampleArea.TOTAL] = total;
  out[SampleArea.WARMUP] = warmup;
  port.postMessage('done');
  port.removeAllListeners('message');
}

async function main(): Promise<void> {
  if (data.mode === 'postmessage') {
    parentPort!.postMessage('ready');
    await postMessageLoop();
    return;
  }
  if (data.mode === 'raw') {
    const w = new Int32Array(data.control);
    parentPort!.postMessage('ready');
    timeBatches((n) => rawBatch(w, data.spinLimit, n));
    Atomics.store(w, Raw.DONE, 1);
    Atomics.add(w, Raw.DOORBELL, 1);
    Atomics.notify(w, Raw.DOORBELL);
    return;
  }
  const mod = (await import(data.mailboxModule!)) as MailboxModule;
  const mb = new mod.Mailboxes(data.control, 1, data.spinLimit);
  parentPort!.postMessage('ready');
  if (data.mode === 'mailbox-null') timeBatches((n) => mailboxNullBatch(mb, n));
  else timeBatches((n) => mailboxDispatchBatch(mb, n));
  // Tell the host loop to stop: one last exit of kind DONE.
  Atomics.store(new Int32Array(data.flags), 0, 1);
  mb.postExitAndWait(0, KIND_DONE);
}

await main();
