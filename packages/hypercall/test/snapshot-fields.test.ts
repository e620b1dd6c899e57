import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  listSnapshotNames,
  readSnapshotBase64,
  readSnapshotBoolean,
  readSnapshotCount,
  readSnapshotObject,
  SNAPSHOT_MESSAGE_MAX,
  SnapshotError,
  snapshotCount,
  snapshotCounts,
  snapshotFieldError,
} from '../src/host/index.ts';
import { SNAPSHOT_COUNT_MAX } from '../src/host/snapshot.ts';

describe('the shared snapshot field readers', () => {
  it('refuse a key an object does not have by name, __proto__ and constructor included', () => {
    const o = JSON.parse('{"a":1,"__proto__":2,"constructor":3}');
    expect(() => readSnapshotObject(o, 'part.x', ['a'])).toThrow(
      "part.x: unknown fields '__proto__', 'constructor' (it has a)",
    );
    expect(readSnapshotObject({ a: 1 }, 'part.x', ['a', 'b'])).toEqual({ a: 1 });
  });

  it('read counts 0..2^53-1, and a count past it saves as 2^53-1 so it reads back', () => {
    expect(readSnapshotCount(SNAPSHOT_COUNT_MAX, 'c')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => readSnapshotCount(SNAPSHOT_COUNT_MAX + 1, 'c')).toThrow(
      'c = 9007199254740992: expected a count',
    );
    expect(readSnapshotCount(snapshotCount(SNAPSHOT_COUNT_MAX + 1), 'c')).toBe(SNAPSHOT_COUNT_MAX);
    expect(snapshotCounts({ a: 3, b: 2 ** 60 })).toEqual({ a: 3, b: SNAPSHOT_COUNT_MAX });
  });

  it('read booleans and canonical base64 only', () => {
    expect(readSnapshotBoolean(false, 'b')).toBe(false);
    expect(() => readSnapshotBoolean(0, 'b')).toThrow('b = 0: expected true or false');
    expect(readSnapshotBase64('AQID', 'p', 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(() => readSnapshotBase64('AQID', 'p', 2)).toThrow('expected base64 of at most 2 bytes');
    expect(() => readSnapshotBase64('AQI', 'p', 8)).toThrow(SnapshotError);
  });

  it('cut a shown value to 40 characters and a list of names to a few', () => {
    expect(snapshotFieldError('f', 'x'.repeat(1000), 'y').message).toBe(
      `f = "${'x'.repeat(39)}…: expected y`,
    );
    const names = Array.from({ length: 4099 }, (_, i) => `p${i}`);
    expect(listSnapshotNames(names, 3)).toBe("'p0', 'p1', 'p2' and 4,096 more");
  });

  test.prop([fc.string({ maxLength: 2000 })])(
    'make every SnapshotError one line of at most 300 characters',
    (text) => {
      const message = new SnapshotError(text).message;
      expect(message).not.toMatch(/[\r\n]/);
      expect(message.length).toBeLessThanOrEqual(SNAPSHOT_MESSAGE_MAX);
    },
  );
});
