import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HvCallCode } from '@pvlab/hypercall';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringifyTrace, TraceWriteError, toChromeTrace, writeTraceFile } from '../src/index.ts';

const trace = toChromeTrace(
  [
    {
      kind: 'hypercall',
      vp: 0,
      ts: 1,
      dur: 2,
      name: 'HvCallNotifyLongSpinWait',
      callCode: HvCallCode.HvCallNotifyLongSpinWait,
      control: '0x0000000000010008',
      fast: true,
      variableHeaderSize: 0,
      repCount: 0,
      repStartIndex: 0,
      status: 'HV_STATUS_SUCCESS',
      repsCompleted: 0,
    },
  ],
  { vcpus: 2, guest: 'g', seed: 1 },
);

describe('writeTraceFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvlab-trace-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the serialised trace and leaves no temporary file', () => {
    const path = join(dir, 'out.json');
    writeTraceFile(path, trace);
    expect(readFileSync(path, 'utf8')).toBe(stringifyTrace(trace));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(trace);
    expect(readdirSync(dir)).toEqual(['out.json']);
  });

  it('replaces an existing file whole', () => {
    const path = join(dir, 'out.json');
    writeFileSync(path, 'x'.repeat(100_000));
    writeTraceFile(path, trace);
    expect(readFileSync(path, 'utf8')).toBe(stringifyTrace(trace));
    expect(readdirSync(dir)).toEqual(['out.json']);
  });

  it('throws a one-line error and creates nothing when the directory is missing', () => {
    const path = join(dir, 'missing', 'out.json');
    expect(() => writeTraceFile(path, trace)).toThrow(TraceWriteError);
    expect(() => writeTraceFile(path, trace)).toThrow(
      `cannot write trace file ${path}: its directory does not exist (ENOENT)`,
    );
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes its temporary file when the final rename fails', () => {
    const path = join(dir, 'taken');
    mkdirSync(path);
    let error: unknown;
    try {
      writeTraceFile(path, trace);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraceWriteError);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).cause).toMatchObject({ code: expect.stringMatching(/^E/) });
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readdirSync(path)).toEqual([]);
  });
});
