/**
 * Lets a guest program in a plain folder `import '@pvlab/…'`: its bare specifiers would resolve
 * from the guest's own folder, where no @pvlab package is installed. A resolve hook then resolves
 * `@pvlab/*` from the host's own installation (as if imported by the vCPU thread's module), and
 * everything else as usual. The hook costs a loader thread per vCPU, so it is registered only for
 * a guest with no `node_modules/@pvlab` above it (a project that installs @pvlab packages itself
 * resolves them as Node does).
 */
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOOKS = `let parentURL;
export function initialize(data) { parentURL = data.parentURL; }
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@pvlab/')) {
    // The host's built JavaScript, also when this process runs pvlab from its TypeScript sources.
    const conditions = context.conditions.filter((c) => c !== '@pvlab/source');
    try { return await next(specifier, { ...context, conditions, parentURL }); } catch {}
  }
  return next(specifier, context);
}`;

/** Whether some folder from `file`'s up to the root has `node_modules/<name>`. */
function installedAbove(file: string, name: string): boolean {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', name))) return true;
    if (dirname(dir) === dir) return false;
  }
}

/** Whether this thread registered the hook (a pooled vCPU thread runs many guests: once is enough). */
let hooked = false;

/** Registers the hook when no @pvlab package is installed above the guest at `guestUrl`. */
export function resolveHostPackagesFor(guestUrl: string, ownUrl: string): boolean {
  if (!guestUrl.startsWith('file:')) return false;
  const missing = !installedAbove(fileURLToPath(guestUrl), '@pvlab');
  if (missing && !hooked) {
    hooked = true;
    register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, { data: { parentURL: ownUrl } });
  }
  return missing;
}
