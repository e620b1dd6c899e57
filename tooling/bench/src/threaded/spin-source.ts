import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MailboxModule } from './protocol.js';

/** What pvlab spins before it blocks, read from the host emulator's own mailbox module. */
export interface SpinSource {
  readonly module: MailboxModule | null;
  readonly url: string | null;
  spinLimitFor(threads: number, cores: number): number;
  readonly note: string;
}

/** The mirror used only when the host emulator's compiled mailbox module cannot be found. */
const MIRROR = { SPIN_LIMIT: 2000, OVERSUBSCRIBED_SPIN_LIMIT: 500 };

export async function loadSpinSource(): Promise<SpinSource> {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@pvlab/host-emulator/package.json'));
  const file = join(dir, 'dist', 'threaded', 'mailbox.js');
  if (existsSync(file)) {
    const url = pathToFileURL(file).href;
    const module = (await import(url)) as MailboxModule;
    if (typeof module.spinLimitFor === 'function' && typeof module.Mailboxes === 'function') {
      return {
        module,
        url,
        spinLimitFor: (t, c) => module.spinLimitFor(t, c),
        note:
          `spin bounds read from the host emulator's mailbox module (SPIN_LIMIT ${module.SPIN_LIMIT}, ` +
          `OVERSUBSCRIBED_SPIN_LIMIT ${module.OVERSUBSCRIBED_SPIN_LIMIT}): the same module runGuest uses`,
      };
    }
  }
  return {
    module: null,
    url: null,
    spinLimitFor: (t, c) => (t <= c ? MIRROR.SPIN_LIMIT : MIRROR.OVERSUBSCRIBED_SPIN_LIMIT),
    note:
      `host emulator mailbox module not found at ${file}: spin bounds MIRRORED (${MIRROR.SPIN_LIMIT} / ` +
      `${MIRROR.OVERSUBSCRIBED_SPIN_LIMIT}), mailbox diagnostics skipped`,
  };
}
