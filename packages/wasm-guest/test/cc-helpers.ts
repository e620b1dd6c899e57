/**
 * Test helpers for pvlab-cc: run it in-process, a tiny stand-in SDK in a temp dir (the driver's
 * tests do not depend on the real SDK's contents), and a check for Debian's clang-19.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type PvlabCcOptions, pvlabCc } from '../src/cc/main.ts';

export interface CcRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs pvlab-cc in this process with exactly `env` (nothing inherited but what is given). */
export async function cc(
  argv: string[],
  opts: { env: Record<string, string | undefined>; cwd: string } & Pick<PvlabCcOptions, 'loadNpmClang'>,
): Promise<CcRun> {
  let stdout = '';
  let stderr = '';
  const code = await pvlabCc(argv, {
    ...opts,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

/** Writes `files` (relative path → text) under `dir`. */
export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

/** A minimal SDK: a guest.h with a wire struct and its size assertion, and a crt.c entry. */
export const FAKE_SDK: Record<string, string> = {
  'include/pvlab/guest.h': `#pragma once
#include <stdint.h>
struct pvlab_vcpu_info { uint32_t cpu, cpus, restored, arch, pages_gpa, pages_bytes, image_end, reserved; };
_Static_assert(sizeof(struct pvlab_vcpu_info) == 32, "struct pvlab_vcpu_info must be 32 bytes");
void guest_main(int cpu);
`,
  'src/crt.c': `#include <pvlab/guest.h>
static _Thread_local struct pvlab_vcpu_info info;
__attribute__((export_name("pvlab_start"))) void pvlab_start(void) { guest_main((int)info.cpu); }
`,
};

/** A fresh temp dir with a stand-in SDK in sdk/, a cache dir and a work dir. */
export function sandbox(): { root: string; sdk: string; cache: string; work: string } {
  const root = mkdtempSync(join(tmpdir(), 'pvlab-cc-test-'));
  const sdk = join(root, 'sdk');
  writeTree(sdk, FAKE_SDK);
  const work = join(root, 'work');
  mkdirSync(work);
  return { root, sdk, cache: join(root, 'cache'), work };
}

/** Debian's clang-19 with wasm-ld-19 is on PATH (tests of the system toolchain need it). */
export const hasClang19 =
  spawnSync('clang-19', ['--version']).status === 0 && spawnSync('wasm-ld-19', ['--version']).status === 0;
