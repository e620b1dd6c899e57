import type { GuestMemory } from '../memory.js';
import type { FeatureView } from './descriptor.js';
import type { Diagnostic } from './diagnostic.js';

/** What the dispatcher needs from its partition. */
export interface DispatcherEnvironment {
  readonly memory: GuestMemory;
  readonly features: FeatureView;
  /** GPAs at or above 2^bits are outside the partition's GPA space. */
  readonly physicalAddressBits: number;
  /** Reps one invocation may process before it is time-sliced (spec 01 rule 8). */
  readonly maxRepsPerCall: number;
  diagnose(rule: string, vp: number, message: string): void;
  /**
   * How many diagnostics were recorded so far, and those recorded from the `mark`th on: how a
   * call's detail lists the diagnostics raised while it ran, also by code that records them on the
   * partition directly. Read only while details are recorded; without them details list none.
   */
  diagnosticCount?(): number;
  diagnosticsSince?(mark: number): readonly Diagnostic[];
}
