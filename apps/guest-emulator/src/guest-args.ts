import { kernelOptionsFromArgs } from './args.js';
import { arm64KernelOptionsFromArgs } from './arm64-kernel.js';

/**
 * Checks `--guest-arg`s for the guest-emulator on an `arch` VM, as the image will read them:
 * throws a `KernelArgError` naming the key or value and what is accepted. A host calls it before
 * the run, so that a bad option is the user's input error, not a failing guest.
 */
export function checkGuestEmulatorArgs(arch: 'x64' | 'arm64', args: Readonly<Record<string, string>>): void {
  if (arch === 'arm64') arm64KernelOptionsFromArgs(args);
  else kernelOptionsFromArgs(args);
}
