/**
 * Restoring a VM from a snapshot: the options first (a fresh VM), then every part by name and
 * version. A refusal is one SnapshotError line naming the part and the field; the fresh VM is
 * closed and dropped, so a refused restore leaves nothing behind.
 */
import { SnapshotError } from '@pvlab/hypercall/host';
import { resolveVmOptions, VmOptionError } from './options.js';
import { parseSnapshot, readSnapshotFile, snapshotFileLabel } from './snapshot.js';
import { Vm } from './vm.js';
import { vmInternals } from './vm-internals.js';

/**
 * Creates a VM from a snapshot written by `vm.save()` (or `pvlab-host run --save`): same options,
 * then each part restored by its name and version. A part this host does not know, a part
 * version it cannot read or a field outside what this host can carry on is a SnapshotError (one
 * line, at most 300 characters, naming the part and the field); parts the snapshot lacks (a
 * package added since it was written) start fresh. A restored VM runs and saves a snapshot that
 * restores again.
 */
export function restoreVm(snapshot: unknown): Vm {
  const s = parseSnapshot(snapshot);
  let vm: Vm;
  try {
    vm = new Vm(resolveVmOptions(s.options));
  } catch (error) {
    if (!(error instanceof VmOptionError)) throw error;
    throw new SnapshotError(`snapshot ${error.message.replace(/^createVm option /, 'options.')}`, {
      cause: error,
    });
  }
  try {
    vmInternals(vm).restoreParts(s);
  } catch (error) {
    vm.takeDiagnostics();
    vm.close();
    throw error;
  }
  return vm;
}

/** `restoreVm` of a snapshot file: a refusal is one line `<file>: …`. */
export function restoreVmFile(path: string): Vm {
  const snapshot = readSnapshotFile(path);
  try {
    return restoreVm(snapshot);
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw error;
    throw new SnapshotError(`${snapshotFileLabel(path)}: ${error.message}`, { cause: error });
  }
}

/**
 * `restoreVmFile` for guest programs (`pvlab-host run --restore`): a program restarts from its
 * entry over the restored memory, so a VP parked in a hypercall (a flush waiting on a locked VP,
 * whose registers a snapshot does not hold) could never resume under it and is refused.
 */
export function restoreVmFileForPrograms(path: string): Vm {
  const vm = restoreVmFile(path);
  const parked = vm.partition.suspendedVps()[0];
  if (parked !== undefined) {
    vm.takeDiagnostics();
    vm.close();
    throw new SnapshotError(
      `${snapshotFileLabel(path)}: vcpu/${parked.vp}.suspension: VP ${parked.vp} is parked in a hypercall waiting on VP ${parked.waitingOn}; a guest program restarts from its entry and cannot resume it (restore it with restoreVm and resume it in the direct harness)`,
    );
  }
  return vm;
}
