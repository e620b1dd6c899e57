import { Worker } from 'node:worker_threads';
import type { TimingOptions } from '../suite.js';
import { POSTMESSAGE_BATCH, ROUND_TRIP_BATCH } from './budget.js';
import { type PeerMode, type PeerWorkerData, SampleArea } from './protocol.js';

const PEER_WORKER = new URL('./peer-worker.js', import.meta.url);

/** Starts the peer worker (the "guest" side of a two-thread round trip) and resolves once it has loaded. */
export async function startPeer(data: PeerWorkerData): Promise<Worker> {
  const worker = new Worker(PEER_WORKER, { workerData: data });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return worker;
}

export function peerData(
  mode: PeerMode,
  spinLimit: number,
  control: SharedArrayBuffer,
  timing: TimingOptions,
  mailboxModule: string | null,
): PeerWorkerData {
  return {
    mode,
    spinLimit,
    control,
    flags: new SharedArrayBuffer(4),
    samples: new SharedArrayBuffer(SampleArea.BYTES),
    mailboxModule,
    batch: mode === 'postmessage' ? POSTMESSAGE_BATCH : ROUND_TRIP_BATCH,
    warmupMs: timing.warmupMs,
    budgetMs: timing.timeMs,
  };
}
