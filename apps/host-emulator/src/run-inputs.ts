/**
 * What `run`, `demo` and `explore` take from the user before a run: the guest file, its
 * `--guest-arg`s, output paths, and the VM the flags describe. Each refuses bad input with a
 * `UsageError` (one line, exit code 2) before anything runs or is written.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkGuestEmulatorArgs, KernelArgError, kernelMemoryBytes } from '@pvlab/guest-emulator';
import { StolenTimeRecord } from '@pvlab/pv-time';
import { TYPESCRIPT_GUEST, WASM_GUEST } from './guest-module.js';
import { restoreVmFileForPrograms } from './restore.js';
import { createVm, type Vm } from './vm.js';
import { givenVmFlags, type VmFlags, vmOptionsFromFlags } from './vm-flags.js';
import { vmInternals } from './vm-internals.js';

/** The flags that shape the VM of a run. */
export interface VmRequest extends VmFlags {
  /** vCPUs (default 1, or the snapshot's with `restore`). */
  readonly vcpus?: number;
  /** VM architecture (default x64, or the snapshot's with `restore`). */
  readonly arch?: 'x64' | 'arm64';
  /** A guest program file; the guest-emulator (which needs room for its kernel) when absent. */
  readonly guest?: string;
  /** The VMBus host corrupts shared ring state, seeded by this. */
  readonly hostileHost?: number;
  /** An isolation VM with its shared GPA boundary at 2^isolation. */
  readonly isolation?: number;
  /** Start from this snapshot instead of a fresh VM. */
  readonly restore?: string;
}

/** Bad user input for `run`/`demo`/`explore`: one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024;

export function checkGuestFile(path: string): string {
  const full = resolve(path);
  if (!existsSync(full))
    throw new UsageError(`--guest '${path}': no such file (give a .mjs, .js, .ts or .wasm guest)`);
  if (!statSync(full).isFile())
    throw new UsageError(`--guest '${path}': not a file (give a .mjs, .js, .ts or .wasm guest)`);
  if (!/\.(mjs|js)$/.test(full) && !TYPESCRIPT_GUEST.test(full) && !WASM_GUEST.test(full)) {
    throw new UsageError(`--guest '${path}': not a guest (accepted: .mjs, .js, .ts, .mts, .wasm)`);
  }
  return full;
}

export function parseGuestArgs(pairs: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--guest-arg '${pair}': expected key=value`);
    args[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return args;
}

/** An output file's path, checked before the run so that a bad one costs nothing. */
export function checkOutputPath(flag: string, path: string): string {
  const full = resolve(path);
  const dir = dirname(full);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`${flag} '${path}': directory '${dir}' does not exist`);
  }
  if (existsSync(full) && statSync(full).isDirectory())
    throw new UsageError(`${flag} '${path}': is a directory`);
  return full;
}

/**
 * The VMM's part of PV time (spec 06 rule 8): whole 64 KiB pages at the top of RAM, reserved for
 * the stolen-time records, one per vCPU, 64 bytes apart; each vCPU's IPA set once.
 */
function placeStolenTimeRecords(vm: Vm): void {
  const region = Math.ceil((vm.vcpus * StolenTimeRecord.bytes) / PV_TIME_REGION_ALIGN) * PV_TIME_REGION_ALIGN;
  const base = BigInt(vm.ram.size - region);
  for (let i = 0; i < vm.vcpus; i++) vm.vp(i).setStolenTimeIpa(base + BigInt(i * StolenTimeRecord.bytes));
}

const PV_TIME_REGION_ALIGN = 64 * 1024;

/** The VM to run: restored from `--restore`, or fresh with room for the guest-emulator's kernel. */
export function makeVm(opts: VmRequest): Vm {
  if (opts.restore !== undefined) {
    const vm = restoreVmFileForPrograms(opts.restore);
    if (opts.vcpus !== undefined && opts.vcpus !== vm.vcpus) {
      vm.close();
      throw new UsageError(
        `--vcpus ${opts.vcpus}: the snapshot '${opts.restore}' has ${vm.vcpus} vCPUs (leave --vcpus out or give ${vm.vcpus})`,
      );
    }
    if (opts.isolation !== undefined || opts.hostileHost !== undefined || givenVmFlags(opts).length > 0) {
      vm.close();
      const flags = [
        ...(opts.isolation === undefined ? [] : ['--isolation']),
        ...(opts.hostileHost === undefined ? [] : ['--hostile-host']),
        ...givenVmFlags(opts),
      ];
      throw new UsageError(
        `${flags.join(', ')}: a restored VM keeps the snapshot's settings (leave them out with --restore)`,
      );
    }
    if (opts.arch !== undefined && opts.arch !== vm.options.arch) {
      vm.close();
      throw new UsageError(
        `--arch ${opts.arch}: the snapshot '${opts.restore}' is of an ${vm.options.arch} VM (leave --arch out or give ${vm.options.arch})`,
      );
    }
    return vm;
  }
  const vcpus = opts.vcpus ?? 1;
  const kernelBytes = Math.ceil(kernelMemoryBytes(vcpus) / 4096) * 4096;
  if (opts.guest === undefined && opts.memory !== undefined && opts.memory < kernelBytes) {
    throw new UsageError(
      `--memory ${opts.memory}: the guest-emulator needs at least ${kernelBytes} bytes for ${vcpus} vCPUs`,
    );
  }
  const memoryBytes = opts.memory ?? Math.max(DEFAULT_MEMORY_BYTES, kernelBytes);
  const shape = {
    ...vmOptionsFromFlags(opts),
    ...(opts.hostileHost === undefined ? {} : { hostileHost: { seed: opts.hostileHost } }),
  };
  if (opts.isolation !== undefined) {
    if (opts.arch === 'arm64') {
      throw new UsageError(`--isolation ${opts.isolation}: isolation VMs are x64 (leave out --arch arm64)`);
    }
    return createVm({ vcpus, memoryBytes, isolation: { sharedGpaBoundaryBits: opts.isolation }, ...shape });
  }
  if (opts.arch !== 'arm64') return createVm({ vcpus, memoryBytes, ...shape });
  if (opts.hostileHost !== undefined) {
    throw new UsageError(
      `--hostile-host ${opts.hostileHost}: the hostile host tampers with VMBus rings, an x64 device`,
    );
  }
  const vm = createVm({ ...shape, arch: 'arm64', vcpus, memoryBytes });
  if (vmInternals(vm).accountsStolenTime()) placeStolenTimeRecords(vm);
  return vm;
}

/** The built-in guest's `--guest-arg`s, checked before the run: a bad one is user input (exit 2). */
export function checkBuiltInGuestArgs(vm: Vm, args: Record<string, string>): void {
  try {
    checkGuestEmulatorArgs(vm.options.arch, args);
  } catch (e) {
    vm.close();
    if (e instanceof KernelArgError) throw new UsageError(e.message);
    throw e;
  }
}
