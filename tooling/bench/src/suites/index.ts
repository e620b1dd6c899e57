import type { BenchSuite } from '../suite.js';
import { directDispatch } from './direct-dispatch.js';
import { shootdownCostSuite } from './shootdown-cost.js';
import { threaded } from './threaded.js';
import { tlbIpiHost } from './tlb-ipi-host.js';
import { vmbusRing } from './vmbus-ring.js';
import { wasmGuest } from './wasm-guest.js';

/** Every benchmark suite, in the order `pnpm bench` runs them. Add new modules here. */
export const SUITES: readonly BenchSuite[] = [
  directDispatch,
  threaded,
  tlbIpiHost,
  shootdownCostSuite,
  vmbusRing,
  wasmGuest,
];
