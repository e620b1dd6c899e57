// The producer thread of threads.test.ts (bundled with esbuild before the test starts).
import { workerData } from 'node:worker_threads';
import { GuestMemory } from '@pvlab/hypercall';
import { RingMemory, RingWriter } from '../src/index.ts';

export type ProducerData =
  | { kind: 'sab'; buffer: SharedArrayBuffer; packets: number }
  | { kind: 'gpadl'; buffer: SharedArrayBuffer; bytes: number; pfns: string[]; packets: number };

const data = workerData as ProducerData | null;
if (data) {
  const memory =
    data.kind === 'sab'
      ? RingMemory.fromSharedArrayBuffer(data.buffer)
      : RingMemory.fromGuestPages(new GuestMemory(data.buffer, data.bytes), data.pfns.map(BigInt));
  const writer = new RingWriter(memory);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let full = 0;
  for (let seq = 0; seq < data.packets; ) {
    const len = 4 + (seq % 300);
    const payload = new Uint8Array(len);
    new DataView(payload.buffer).setUint32(0, seq, true);
    for (let i = 4; i < len; i++) payload[i] = (seq + i) & 0xff;
    // Two parts: a gather write.
    const r = writer.tryWrite([payload.subarray(0, 4), payload.subarray(4)], {
      type: 6,
      transactionId: BigInt(seq),
    });
    if (r.ok) seq++;
    else if (r.reason === 'corrupt') throw r.error;
    // Full: back off briefly (the test machine may have fewer cores than busy threads).
    else if (++full % 64 === 0) Atomics.wait(nap, 0, 0, 1);
  }
}
