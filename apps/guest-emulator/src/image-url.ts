import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The URL of the bundled guest image (`dist/guest.mjs`), which `pvlab-host run` loads on every
 * vCPU thread. Works from the published package and from the workspace sources.
 */
export function guestImageUrl(): URL {
  for (const rel of ['./guest.mjs', '../dist/guest.mjs']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error('the guest image (dist/guest.mjs) is missing: build @pvlab/guest-emulator first');
}
