/**
 * Interrupt delivery from wasm: the runtime raises the pending word after a suspending import;
 * the SDK's trampoline calls pvlab_interrupt() from wasm with interrupts disabled, at exits while
 * enabled, at pvlab_irq_restore/enable and at pvlab_halt.
 */
import { describe, expect, it } from 'vitest';
import { CLANG_MISSING } from './helpers/compile.ts';
import { direct } from './helpers/direct.ts';
import { FakeProgramCpu } from './helpers/fake-cpu.ts';

const irq = () => {
  const d = direct('irq', 1, (i, memory) => new FakeProgramCpu(i, 1, memory));
  const v = d.vcpus[0]!;
  const delivered = () =>
    Array.from({ length: v.call('irq_count') as number }, (_, i) => v.call('irq_vector', i) as number);
  return { cpu: d.cpus[0]!, v, delivered };
};

describe.skipIf(CLANG_MISSING !== undefined)(`interrupts ${CLANG_MISSING ?? ''}`, () => {
  it('delivers what arrived during an exit when it returns, in order, each with interrupts disabled', () => {
    const { cpu, v, delivered } = irq();
    cpu.pending = [0x30, 0x31];
    v.call('exit_once');
    expect(delivered()).toEqual([0x30, 0x31]);
    expect([v.call('irq_enabled_in_handler', 0), v.call('irq_enabled_in_handler', 1)]).toEqual([0, 0]);
    expect(v.call('irqs_enabled')).toBe(1);
  });

  it("queues an interrupt that arrives during the handler's own exit and delivers it after, not nested", () => {
    const { cpu, v, delivered } = irq();
    cpu.onLog = (text) => {
      if (text === 'irq 48') cpu.pending = [0x50];
    };
    cpu.pending = [0x30];
    v.call('exit_once');
    expect(delivered()).toEqual([0x30, 0x50]);
    expect(cpu.logs).toEqual(['irq 48', 'irq 80']);
  });

  it('sets the pending word after a suspending import only', () => {
    const { cpu, v, delivered } = irq();
    cpu.pending = [0x31];
    // Word 1 after the pause, one delivery at the enable.
    expect(v.call('pending_after_pause')).toBe(1001);
    expect(delivered()).toEqual([0x31]);
    cpu.pending = [0x32];
    expect(v.call('pending_after_rdtsc')).toBe(0);
    expect(cpu.pending).toEqual([0x32]);
  });

  it('pvlab_irq_save defers delivery past exits and pvlab_irq_restore delivers; nested saves hold', () => {
    const { cpu, v, delivered } = irq();
    cpu.pending = [0x40];
    expect(v.call('deferred')).toBe(1);
    expect(delivered()).toEqual([0x40]);
    cpu.pending = [0x41];
    expect(v.call('nested')).toBe(1);
    expect(delivered()).toEqual([0x40, 0x41]);
  });

  it('pvlab_halt waits through halt() and delivers; one already pending is delivered without halting', () => {
    const { cpu, v, delivered } = irq();
    cpu.onHalt = () => [0x33];
    v.call('halt_once');
    expect(delivered()).toEqual([0x33]);
    expect(cpu.ops().filter((o) => o === 'halt')).toHaveLength(1);
    cpu.pending = [0x34];
    v.call('disable_then_halt');
    expect(delivered()).toEqual([0x33, 0x34]);
    expect(cpu.ops().filter((o) => o === 'halt')).toHaveLength(1);
    expect(v.call('irqs_enabled')).toBe(1);
  });

  it("asks the cpu's interruptPending() first when it has one, and takes only when it says so", () => {
    const { cpu, v, delivered } = irq();
    let asked = 0;
    let takes = 0;
    const take = cpu.takeInterrupts.bind(cpu);
    cpu.takeInterrupts = () => {
      takes++;
      return take();
    };
    Object.assign(cpu, {
      interruptPending: () => {
        asked++;
        return cpu.pending.length > 0;
      },
    });
    v.call('exit_once');
    expect([asked, takes]).toEqual([1, 0]);
    cpu.pending = [0x36];
    v.call('exit_once');
    expect(delivered()).toEqual([0x36]);
    expect(takes).toBeGreaterThan(0);
  });

  it('runs the handler from wasm: no JS frame between the handler and guest_main', () => {
    const { cpu, v } = irq();
    let stack = '';
    cpu.onLog = () => {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 100;
      stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
    };
    cpu.pending = [0x35];
    v.start();
    const frames = stack.split('\n').filter((l) => /^\s*at /.test(l));
    const handler = frames.findIndex((l) => / pvlab_interrupt \(| \S*\.pvlab_interrupt \(/.test(l));
    const main = frames.findIndex((l) => /[ .]guest_main \(/.test(l));
    expect(handler).toBeGreaterThan(0);
    expect(main).toBeGreaterThan(handler);
    const between = frames.slice(handler, main + 1);
    expect(between.filter((l) => !l.includes('wasm://wasm/'))).toEqual([]);
    // The trampoline is one of them.
    expect(between.some((l) => l.includes('__pvlab_deliver'))).toBe(true);
  });
});
