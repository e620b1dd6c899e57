import { describe, expect, it } from 'vitest';
import { createVm } from '../src/index.ts';
import { runGuest } from '../src/threaded/run.ts';

const guest = (name: string) => new URL(`./guests/${name}`, import.meta.url);

describe('runGuest', () => {
  it('runs a guest program on every vCPU in parallel', async () => {
    const vm = createVm({ vcpus: 4 });
    const r = await runGuest(vm, { guest: guest('spin-wait.mjs') });
    expect(r.failures).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.reports).toEqual([{ ok: 20 }, { ok: 20 }, { ok: 20 }, { ok: 20 }]);
    expect(r.hypercalls).toBe(80);
    vm.close();
  });

  it('runs deterministically with a seed', async () => {
    const run = async (seed: number) => {
      const vm = createVm({ vcpus: 4 });
      const r = await runGuest(vm, { guest: guest('spin-wait.mjs'), seed });
      vm.close();
      return r;
    };
    const a = await run(7);
    const b = await run(7);
    expect(a.passed).toBe(true);
    expect(JSON.stringify(a.events)).toBe(JSON.stringify(b.events));
    const c = await run(8);
    expect(JSON.stringify(a.events)).not.toBe(JSON.stringify(c.events));
  });
});
