import { expect, it } from 'vitest';
import * as entry from '../src/index.ts';

it('exports nothing until its issue implements it', () => {
  expect(Object.keys(entry)).toEqual([]);
});
