import { describe, expect, it } from 'vitest';
import { planBatches, type CoalesceEntry } from '../../../../src/connectors/qq/account/coalesce.js';

const text = (key: string, t: string): CoalesceEntry => ({ key, parts: [{ type: 'text', text: t }] });
const opts = { coalesceAfter: 3, maxLength: 100 };

describe('planBatches', () => {
  it('leaves a short queue alone (≤ coalesceAfter waiting)', () => {
    const e = [text('1', '<a> x'), text('2', '<b> y'), text('3', '<c> z')];
    expect(planBatches(e, opts).map((b) => b.keys)).toEqual([['1'], ['2'], ['3']]);
  });

  it('joins a backlog one line each, sender prefixes kept, order kept', () => {
    const e = Array.from({ length: 20 }, (_, i) => text(String(i), `<nick${i % 3}> line ${i}`));
    const batches = planBatches(e, { coalesceAfter: 3, maxLength: 4500 });
    expect(batches).toHaveLength(1);
    expect(batches[0]!.keys).toEqual(e.map((x) => x.key));
    expect(batches[0]!.parts).toEqual([{ type: 'text', text: e.map((x) => (x.parts[0] as { text: string }).text).join('\n') }]);
  });

  it('never exceeds the length limit and never splits an entry', () => {
    const e = Array.from({ length: 30 }, (_, i) => text(String(i), `<n> ${'x'.repeat(20 + (i % 7))}`));
    const batches = planBatches(e, opts);
    expect(batches.flatMap((b) => b.keys)).toEqual(e.map((x) => x.key));
    for (const b of batches) {
      const len = b.parts.reduce((n, p) => n + (p.text ?? '').length, 0);
      expect(len).toBeLessThanOrEqual(100);
    }
    expect(batches.length).toBeLessThan(30);
  });

  it('pictures, replies and mentions go alone (they end a run); faces stay inside the joined message', () => {
    const e: CoalesceEntry[] = [
      text('1', '<a> one'),
      { key: '2', parts: [{ type: 'text', text: '<b> hi ' }, { type: 'face', id: 14 } as never, { type: 'text', text: ' look' }] },
      { key: '3', parts: [{ type: 'text', text: '<c> pic:' }, { type: 'image' }] },
      text('4', '<a> two'),
      { key: '5', parts: [{ type: 'text', text: '<d> yes' }], reply: true },
      text('6', '<a> three'),
      { key: '7', parts: [{ type: 'text', text: '<b> hey ' }, { type: 'at', qq: 42 } as never] },
      text('8', '<a> four'),
      text('9', '<a> five'),
    ];
    const batches = planBatches(e, opts);
    expect(batches.map((b) => b.keys)).toEqual([['1', '2'], ['3'], ['4'], ['5'], ['6'], ['7'], ['8', '9']]);
    expect(batches[0]!.parts).toEqual([{ type: 'text', text: '<a> one\n<b> hi ' }, { type: 'face', id: 14 }, { type: 'text', text: ' look' }]);
    expect(batches[5]!.parts).toEqual([{ type: 'text', text: '<b> hey ' }, { type: 'at', qq: 42 }]);
  });

  it('coalesceAfter 0 turns it off; a custom measure (UTF-8 bytes) is honoured', () => {
    const e = Array.from({ length: 10 }, (_, i) => text(String(i), '<张> 你好世界'));
    expect(planBatches(e, { coalesceAfter: 0, maxLength: 1000 })).toHaveLength(10);
    const bytes = (t: string) => Buffer.byteLength(t);
    const b = planBatches(e, { coalesceAfter: 3, maxLength: 40, measure: bytes });
    for (const x of b) expect(bytes(x.parts.map((p) => p.text).join(''))).toBeLessThanOrEqual(40);
    expect(b.flatMap((x) => x.keys)).toHaveLength(10);
  });
});
