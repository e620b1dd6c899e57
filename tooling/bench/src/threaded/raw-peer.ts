import { availableParallelism } from 'node:os';
import type { TimingOptions } from '../suite.js';
import { deadlineFor, overrun } from './budget.js';
import { peerData, startPeer } from './peer.js';
import { Raw, State } from './protocol.js';
import { readSamples, type Samples } from './samples.js';
import type { SpinSource } from './spin-source.js';

/** The raw peer's host side: the same loop shape as the pvlab host (`#runParallel`, `waitForExit`), no handling. */
function rawHost(w: Int32Array, spinLimit: number, deadline: number): void {
  const exitPosted = () => Atomics.load(w, Raw.STATE) === State.EXIT;
  for (;;) {
    if (exitPosted()) {
      w[Raw.COMPLETION] = 0;
      Atomics.store(w, Raw.STATE, State.COMPLETE);
      if (Atomics.load(w, Raw.SLEEPING) !== 0) Atomics.notify(w, Raw.STATE);
      continue;
    }
    if (Atomics.load(w, Raw.DONE) !== 0) return;
    overrun(deadline, 'the raw ping-pong');
    let moved = false;
    for (let i = 0; i < spinLimit; i++) {
      if (exitPosted() || Atomics.load(w, Raw.DONE) !== 0) {
        moved = true;
        break;
      }
    }
    if (!moved) {
      const seen = Atomics.load(w, Raw.DOORBELL);
      Atomics.store(w, Raw.HOST_SLEEPING, 1);
      if (!exitPosted() && Atomics.load(w, Raw.DONE) === 0) Atomics.wait(w, Raw.DOORBELL, seen, 10);
      Atomics.store(w, Raw.HOST_SLEEPING, 0);
    }
  }
}

/**
 * The peer every round trip is judged against: two threads run the mailbox protocol with nothing
 * else (the worker posts, this thread completes), with pvlab's spin bound for two busy threads.
 */
export async function runRawPeer(timing: TimingOptions, spin: SpinSource): Promise<Samples> {
  const spinLimit = spin.spinLimitFor(2, availableParallelism());
  const deadline = deadlineFor(timing);
  const control = new SharedArrayBuffer(Raw.WORDS * 4);
  const data = peerData('raw', spinLimit, control, timing, null);
  const worker = await startPeer(data);
  rawHost(new Int32Array(control), spinLimit, deadline);
  await worker.terminate();
  return readSamples(data.samples, 0);
}
