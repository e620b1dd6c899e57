/**
 * One side of the ring throughput bench (`suites/vmbus-ring.ts`). The producer writes packets of
 * `packetBytes` with a u32 sequence number in front until STOP; the consumer reads them, checks the
 * sequence, and times batches once MARK is set. pvlab's reader sees each packet in place
 * (zero-copy unless it wraps) and commits when the ring looks empty or after an eighth of the
 * ring; ringbuf.js's reader pops each packet into its own buffer (its API has no in-place read).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingMemory, RingReader, RingWriter, VmPacketType } from '@pvlab/vmbus-ring';
import { RingBuffer } from 'ringbuf.js';
import { Ctl, Result, type RingWorkerData } from './protocol.js';

const data = workerData as RingWorkerData;
const ctl = new Int32Array(data.control);
const out = new Float64Array(data.result);
const clock = () => performance.timeOrigin + performance.now();
const S = data.packetBytes;

/** Sleeps until the doorbell moves (or 1 ms), after telling the peer it may need waking. */
function sleep(sleepingWord: number, doorbell: number, ready: () => boolean): void {
  const seen = Atomics.load(ctl, doorbell);
  Atomics.store(ctl, sleepingWord, 1);
  if (!ready() && Atomics.load(ctl, Ctl.STOP) === 0) Atomics.wait(ctl, doorbell, seen, 1);
  Atomics.store(ctl, sleepingWord, 0);
}

function wake(sleepingWord: number, doorbell: number): void {
  if (Atomics.load(ctl, sleepingWord) !== 0) {
    Atomics.add(ctl, doorbell, 1);
    Atomics.notify(ctl, doorbell);
  }
}

/** The consumer's clock: counts packets, checks order, records ms per batch after MARK. */
class Tally {
  next = 0;
  wrong = 0;
  #timing = false;
  #inBatch = 0;
  #t = 0;
  #packets = 0;
  #samples = 0;

  packet(seq: number): void {
    if (seq !== (this.next | 0)) this.wrong++;
    this.next = seq + 1;
    if (!this.#timing) {
      if (Atomics.load(ctl, Ctl.MARK) === 0) return;
      this.#timing = true;
      this.#t = clock();
      out[Result.T0] = this.#t;
      return;
    }
    this.#packets++;
    if (++this.#inBatch === data.batch) {
      const now = clock();
      if (this.#samples < Result.MAX_SAMPLES) out[Result.HEADER + this.#samples++] = now - this.#t;
      this.#t = now;
      this.#inBatch = 0;
    }
  }

  finish(): void {
    out[Result.T1] = clock();
    out[Result.PACKETS] = this.#packets;
    out[Result.WRONG] = this.wrong;
    out[Result.COUNT] = this.#samples;
  }
}

function pvlabProducer(): void {
  const writer = new RingWriter(RingMemory.fromSharedArrayBuffer(data.ring));
  const payload = new Uint8Array(S).fill(0x5a);
  const seqView = new DataView(payload.buffer);
  const header = { type: VmPacketType.DATA_INBAND };
  let seq = 0;
  while (Atomics.load(ctl, Ctl.STOP) === 0) {
    seqView.setUint32(0, seq, true);
    const r = writer.tryWrite(payload, header);
    if (r.ok) {
      seq++;
      wake(Ctl.CONSUMER_SLEEPING, Ctl.DATA_DOORBELL);
      continue;
    }
    if (r.reason === 'corrupt') throw r.error;
    let spun = 0;
    const room = () => writer.tryWrite(payload, header).ok;
    // Retry the write itself while spinning: a successful retry counts as the packet.
    for (; spun < data.spinLimit; spun++) if (room()) break;
    if (spun < data.spinLimit) {
      seq++;
      wake(Ctl.CONSUMER_SLEEPING, Ctl.DATA_DOORBELL);
    } else sleep(Ctl.PRODUCER_SLEEPING, Ctl.SPACE_DOORBELL, () => writer.bytesFree > r.needed);
  }
}

function pvlabConsumer(): void {
  const memory = RingMemory.fromSharedArrayBuffer(data.ring);
  const reader = new RingReader(memory);
  const tally = new Tally();
  const commitEvery = memory.dataSize / 8;
  let uncommitted = 0;
  let spun = 0;
  // Rule 8, as Linux's hv_begin_read: interrupts masked while draining, so the writer need not
  // look at the read index to decide whether to signal.
  reader.beginRead();
  while (Atomics.load(ctl, Ctl.STOP) === 0) {
    const r = reader.read();
    if (r.ok) {
      // The sequence number: the first u32 of the payload, read in place.
      tally.packet(r.view.getUint32(r.viewOffset + r.offset8 * 8, true));
      uncommitted += r.len8 * 8 + 8;
      if (uncommitted >= commitEvery) {
        reader.commit();
        uncommitted = 0;
        wake(Ctl.PRODUCER_SLEEPING, Ctl.SPACE_DOORBELL);
      }
      spun = 0;
      continue;
    }
    if (r.reason === 'corrupt') throw r.error;
    if (uncommitted > 0) {
      reader.commit();
      uncommitted = 0;
      wake(Ctl.PRODUCER_SLEEPING, Ctl.SPACE_DOORBELL);
    }
    if (++spun >= data.spinLimit) {
      // hv_end_read: unmask, then look once more before sleeping (closes the race).
      if (!reader.endRead()) sleep(Ctl.CONSUMER_SLEEPING, Ctl.DATA_DOORBELL, () => reader.bytesAvailable > 0);
      reader.beginRead();
      spun = 0;
    }
  }
  tally.finish();
}

function ringbufProducer(): void {
  const rb = new RingBuffer(data.ring, Uint8Array);
  const payload = new Uint8Array(S).fill(0x5a);
  const seqView = new DataView(payload.buffer);
  let seq = 0;
  let spun = 0;
  while (Atomics.load(ctl, Ctl.STOP) === 0) {
    if (rb.availableWrite() < S) {
      if (++spun >= data.spinLimit) {
        sleep(Ctl.PRODUCER_SLEEPING, Ctl.SPACE_DOORBELL, () => rb.availableWrite() >= S);
        spun = 0;
      }
      continue;
    }
    spun = 0;
    seqView.setUint32(0, seq, true);
    rb.push(payload);
    seq++;
    wake(Ctl.CONSUMER_SLEEPING, Ctl.DATA_DOORBELL);
  }
}

function ringbufConsumer(): void {
  const rb = new RingBuffer(data.ring, Uint8Array);
  const buf = new Uint8Array(S);
  const tally = new Tally();
  let spun = 0;
  while (Atomics.load(ctl, Ctl.STOP) === 0) {
    if (rb.availableRead() < S) {
      if (++spun >= data.spinLimit) {
        sleep(Ctl.CONSUMER_SLEEPING, Ctl.DATA_DOORBELL, () => rb.availableRead() >= S);
        spun = 0;
      }
      continue;
    }
    spun = 0;
    rb.pop(buf);
    wake(Ctl.PRODUCER_SLEEPING, Ctl.SPACE_DOORBELL);
    tally.packet((buf[0]! | (buf[1]! << 8) | (buf[2]! << 16) | (buf[3]! << 24)) >>> 0);
  }
  tally.finish();
}

Atomics.add(ctl, Ctl.READY, 1);
parentPort?.postMessage('ready');
while (Atomics.load(ctl, Ctl.START) === 0) Atomics.wait(ctl, Ctl.START, 0, 10);
switch (data.role) {
  case 'pvlab-producer':
    pvlabProducer();
    break;
  case 'pvlab-consumer':
    pvlabConsumer();
    break;
  case 'ringbuf-producer':
    ringbufProducer();
    break;
  case 'ringbuf-consumer':
    ringbufConsumer();
    break;
}
parentPort?.postMessage('done');
