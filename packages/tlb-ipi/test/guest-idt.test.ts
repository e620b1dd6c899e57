import { describe, expect, it } from 'vitest';
import { Idt, type InterruptCpu } from '../src/guest/index.ts';

/** A CPU whose IRR is a list the test fills; HLT with nothing pending is a test bug. */
function fakeCpu() {
  const irr = new Set<number>();
  let pauses = 0;
  const cpu: InterruptCpu = {
    halt() {
      if (irr.size === 0) throw new Error('halted with nothing pending');
      return cpu.takeInterrupts();
    },
    takeInterrupts() {
      const v = [...irr].sort((a, b) => a - b);
      irr.clear();
      return v;
    },
    pause() {
      pauses++;
    },
  };
  return { cpu, irr, pauses: () => pauses };
}

describe('Idt — interrupt dispatch at HLT returns and in wait loops', () => {
  it('runs the handler of each vector that arrived, lowest first', () => {
    const { cpu, irr } = fakeCpu();
    const idt = new Idt(cpu);
    const seen: number[] = [];
    idt.register(0x40, (v) => seen.push(v));
    idt.register(0x30, (v) => seen.push(v));
    idt.enable();
    irr.add(0x40).add(0x30);
    idt.poll();
    expect(seen).toEqual([0x30, 0x40]);
    expect(idt.handled).toBe(2);
  });

  it('while interrupts are off, vectors are kept (coalesced) and handled at enable()', () => {
    const { cpu, irr } = fakeCpu();
    const idt = new Idt(cpu);
    const seen: number[] = [];
    idt.register(0xc1, (v) => seen.push(v));
    irr.add(0xc1).add(0xf0);
    idt.halt();
    irr.add(0xc1);
    idt.poll();
    expect(seen).toEqual([]);
    expect(idt.consume(0xf0)).toBe(true);
    expect(idt.consume(0xf0)).toBe(false);
    idt.enable();
    expect(seen).toEqual([0xc1]);
  });

  it('a vector with no handler counts as spurious', () => {
    const { cpu, irr } = fakeCpu();
    const idt = new Idt(cpu);
    idt.enable();
    irr.add(0x99);
    idt.poll();
    expect(idt.spurious).toBe(1);
  });

  it('a handler that polls does not nest: what it sees runs after it returns', () => {
    const { cpu, irr } = fakeCpu();
    const idt = new Idt(cpu);
    const seen: string[] = [];
    idt.register(0x50, () => {
      seen.push('0x50 start');
      irr.add(0x20);
      idt.poll();
      seen.push('0x50 end');
    });
    idt.register(0x20, () => seen.push('0x20'));
    idt.enable();
    irr.add(0x50);
    idt.poll();
    expect(seen).toEqual(['0x50 start', '0x50 end', '0x20']);
  });

  it('spinUntil PAUSEs and polls until the condition holds, or gives up after maxRounds', () => {
    const { cpu, irr, pauses } = fakeCpu();
    const idt = new Idt(cpu);
    let flag = false;
    idt.register(0x60, () => {
      flag = true;
    });
    idt.enable();
    let rounds = 0;
    expect(
      idt.spinUntil(() => {
        if (++rounds === 3) irr.add(0x60);
        return flag;
      }),
    ).toBe(true);
    expect(pauses()).toBe(3);
    expect(idt.spinUntil(() => false, 5)).toBe(false);
    expect(pauses()).toBe(8);
  });

  it('haltUntil halts only while the condition is false', () => {
    const { cpu, irr } = fakeCpu();
    const idt = new Idt(cpu);
    let n = 0;
    idt.register(0x70, () => {
      n++;
    });
    idt.enable();
    irr.add(0x70);
    idt.haltUntil(() => n === 1);
    expect(n).toBe(1);
  });

  it('registering a vector twice is a kernel bug', () => {
    const idt = new Idt(fakeCpu().cpu);
    idt.register(0x10, () => {});
    expect(() => idt.register(0x10, () => {})).toThrow(/already has a handler/);
  });
});
