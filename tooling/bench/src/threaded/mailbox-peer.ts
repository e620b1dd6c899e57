import { availableParallelism } from 'node:os';
import { createVm } from '@pvlab/host-emulator';
import type { HypercallIo } from '@pvlab/hypercall/host';
import { enableTestHypercalls } from '@pvlab/hypercall/testing';
import type { TimingOptions } from '../suite.js';
import { deadlineFor, overrun } from './budget.js';
import { peerData, startPeer } from './peer.js';
import { KIND_DONE, KIND_HYPERCALL, type MailboxesLike, type MailboxModule } from './protocol.js';
import { readSamples, type Samples } from './samples.js';
import type { SpinSource } from './spin-source.js';

const WATCH_VP0 = Uint8Array.of(1);

function mailboxNullHost(mb: MailboxesLike, deadline: number): void {
  for (;;) {
    if (mb.hasExit(0)) {
      const kind = mb.kind(0);
      mb.complete(0, 0);
      if (kind === KIND_DONE) return;
      continue;
    }
    overrun(deadline, 'the mailbox round trip');
    mb.waitForExit(WATCH_VP0, 10);
  }
}

/** `Mailboxes` host side dispatching each exit on the mailbox registers in place (as runGuest does), RAX back. */
function mailboxDispatchHost(
  mb: MailboxesLike,
  io: HypercallIo,
  vm: ReturnType<typeof createVm>,
  deadline: number,
): number {
  const partition = vm.partition;
  let calls = 0;
  for (;;) {
    if (mb.hasExit(0)) {
      const kind = mb.kind(0);
      if (kind === KIND_HYPERCALL) {
        mb.setReg(0, 0, partition.hypercall(0, io));
        calls++;
      }
      mb.complete(0, 0);
      if (kind === KIND_DONE) return calls;
      continue;
    }
    overrun(deadline, 'the mailbox dispatch round trip');
    mb.waitForExit(WATCH_VP0, 10);
  }
}

/**
 * Diagnostics on the host emulator's own `Mailboxes` class: an empty exit with a bare host loop
 * (`null`), or the "lean host" that dispatches each call with `partition.hypercall` (`dispatch`).
 */
export async function runMailboxPeer(
  host: 'null' | 'dispatch',
  timing: TimingOptions,
  spin: SpinSource & { readonly module: MailboxModule },
): Promise<Samples> {
  const spinLimit = spin.spinLimitFor(2, availableParallelism());
  const deadline = deadlineFor(timing);
  const mod = spin.module;
  const mb = new mod.Mailboxes(new SharedArrayBuffer(mod.mailboxBytes(1)), 1, spinLimit);
  const data = peerData(
    host === 'null' ? 'mailbox-null' : 'mailbox-dispatch',
    spinLimit,
    (mb as unknown as { buffer: SharedArrayBuffer }).buffer,
    timing,
    spin.url,
  );
  const worker = await startPeer(data);
  if (host === 'null') mailboxNullHost(mb, deadline);
  else {
    const vm = createVm({ vcpus: 1 });
    enableTestHypercalls(vm.vp(0));
    const calls = mailboxDispatchHost(mb, new mod.MailboxHypercallIo(mb, 0), vm, deadline);
    if (calls !== vm.partition.vp(0).longSpinWaits)
      throw new Error('threaded: lean host dispatched the wrong calls');
  }
  await worker.terminate();
  return readSamples(data.samples, 0);
}
