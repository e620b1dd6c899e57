import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GuestMemory } from '@pvlab/hypercall';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRingControl, RingMemory, RingReader } from '../src/index.ts';
import type { ProducerData } from './threads-producer.ts';

const PACKETS = 20_000;
let dir: string;
let producer: string;

// Workers cannot load TypeScript: bundle the producer (and the ring's sources) first.
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmbus-ring-'));
  producer = join(dir, 'producer.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./threads-producer.ts', import.meta.url))],
    outfile: producer,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@pvlab/source'],
    logLevel: 'warning',
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads every packet the producer thread writes; checks sequence numbers and contents. */
async function consume(memory: RingMemory, data: ProducerData): Promise<number> {
  const worker = new Worker(producer, { workerData: data });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  const reader = new RingReader(memory);
  let next = 0;
  let idle = 0;
  const drain = async () => {
    while (next < PACKETS) {
      const r = reader.read();
      if (!r.ok) {
        if (r.reason === 'corrupt') throw r.error;
        reader.commit();
        // Give the producer the CPU now and then: the machine may have fewer cores than threads.
        if (++idle % 256 === 0) await new Promise((res) => setImmediate(res));
        continue;
      }
      const view = new DataView(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength);
      const seq = view.getUint32(0, true);
      if (seq !== next) throw new Error(`packet ${next} expected, got ${seq}`);
      if (r.transactionId !== BigInt(seq)) throw new Error(`packet ${seq}: trans_id ${r.transactionId}`);
      const len = 4 + (seq % 300);
      for (let i = 4; i < len; i++)
        if (r.payload[i] !== ((seq + i) & 0xff)) throw new Error(`packet ${seq}: byte ${i}`);
      next++;
      if (next % 16 === 0) reader.commit();
    }
    reader.commit();
  };
  await Promise.race([drain(), failed]);
  await worker.terminate();
  return next;
}

describe('one producer thread, one consumer thread', () => {
  it('moves every packet in order over a SharedArrayBuffer ring', async () => {
    const memory = RingMemory.allocate(4 * 4096);
    initRingControl(memory);
    const sab = memory.control.buffer as SharedArrayBuffer;
    expect(await consume(memory, { kind: 'sab', buffer: sab, packets: PACKETS })).toBe(PACKETS);
  }, 60_000);

  it('moves every packet in order over GPADL pages in guest memory', async () => {
    const guest = new GuestMemory(32 * 4096);
    const pfns = [7n, 20n, 3n, 4n, 11n];
    const memory = RingMemory.fromGuestPages(guest, pfns);
    initRingControl(memory);
    expect(
      await consume(memory, {
        kind: 'gpadl',
        buffer: guest.buffer,
        bytes: guest.size,
        pfns: pfns.map(String),
        packets: PACKETS,
      }),
    ).toBe(PACKETS);
  }, 60_000);
});
