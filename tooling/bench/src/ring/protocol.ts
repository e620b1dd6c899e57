/**
 * The shared words of the ring throughput bench: a start/mark/stop handshake driven by the main
 * thread, and the same sleep-and-wake protocol for pvlab's ring and ringbuf.js (bounded spin, then
 * a sleeping flag and `Atomics.wait`; the other side notifies only a sleeping peer).
 */

/** Int32 word indexes in the control buffer. */
export const Ctl = {
  READY: 0,
  START: 1,
  /** Set after the warmup: the consumer starts its timed window. */
  MARK: 2,
  STOP: 3,
  PRODUCER_SLEEPING: 4,
  CONSUMER_SLEEPING: 5,
  /** Bumped by the producer to wake the consumer (data). */
  DATA_DOORBELL: 6,
  /** Bumped by the consumer to wake the producer (space). */
  SPACE_DOORBELL: 7,
  WORDS: 8,
} as const;

/** Float64 slots of the consumer's result area; samples follow the header. */
export const Result = {
  /** Packets received in the timed window. */
  PACKETS: 0,
  /** Packets whose sequence number was not the next one. */
  WRONG: 1,
  T0: 2,
  T1: 3,
  /** Number of samples (ms per batch of packets). */
  COUNT: 4,
  HEADER: 8,
  MAX_SAMPLES: 4096,
} as const;

/** Which ring, which side. */
export type RingBenchRole = 'pvlab-producer' | 'pvlab-consumer' | 'ringbuf-producer' | 'ringbuf-consumer';

export interface RingWorkerData {
  readonly role: RingBenchRole;
  readonly control: SharedArrayBuffer;
  /** The ring's memory: a pvlab ring (control page + data) or ringbuf.js storage. */
  readonly ring: SharedArrayBuffer;
  readonly result: SharedArrayBuffer;
  /** Payload bytes per packet. */
  readonly packetBytes: number;
  /** Packets per timed sample. */
  readonly batch: number;
  /** Spin iterations before a side sleeps. */
  readonly spinLimit: number;
}
