import {
  listSnapshotNames,
  type SnapshotData,
  SnapshotError,
  type SnapshotPart,
} from '@pvlab/hypercall/host';
import type { VmSnapshot } from './snapshot.js';

/** `true` when `message` already starts with the part's name as its field path does. */
function namesPart(message: string, name: string): boolean {
  return message.startsWith(name) && /^[.[ =:]/.test(message.slice(name.length));
}

/**
 * Restores each part of `snapshot` through `parts` (this VM's): every name is checked before
 * any part changes, and a part's refusal is prefixed with its name when its message lacks it.
 */
export function restoreSnapshotParts(parts: readonly SnapshotPart[], snapshot: VmSnapshot): void {
  const known = new Map(parts.map((p) => [p.name, p]));
  const unknown = Object.keys(snapshot.parts).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SnapshotError(
      `snapshot part${unknown.length > 1 ? 's' : ''} ${listSnapshotNames(unknown, 3)} not known to this host (it knows ${listSnapshotNames([...known.keys()], 8)})`,
    );
  }
  for (const [name, { version, data }] of Object.entries(snapshot.parts)) {
    try {
      known.get(name)!.restore(data as SnapshotData, version);
    } catch (error) {
      if (!(error instanceof SnapshotError) || namesPart(error.message, name)) throw error;
      throw new SnapshotError(`snapshot part '${name}': ${error.message}`, { cause: error });
    }
  }
}
