import { availableParallelism } from 'node:os';
import type { TimingOptions } from '../suite.js';
import { deadlineFor } from './budget.js';
import { peerData, startPeer } from './peer.js';
import { readSamples, type Samples } from './samples.js';
import type { SpinSource } from './spin-source.js';

/** postMessage ping-pong: the worker posts, this thread echoes every message back until `done`. */
export async function runPostMessagePeer(timing: TimingOptions, spin: SpinSource): Promise<Samples> {
  const spinLimit = spin.spinLimitFor(2, availableParallelism());
  const deadline = deadlineFor(timing);
  const data = peerData('postmessage', spinLimit, new SharedArrayBuffer(4), timing, null);
  const worker = await startPeer(data);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('threaded: postMessage ping-pong did not finish in time')),
      deadline - performance.now(),
    );
    worker.on('message', (m: unknown) => {
      if (m === 'done') {
        clearTimeout(timer);
        resolve();
      } else worker.postMessage(m);
    });
    worker.once('error', reject);
  });
  await worker.terminate();
  return readSamples(data.samples, 0);
}
