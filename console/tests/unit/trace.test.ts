import { describe, expect, it } from 'vitest';
import { waterfall } from '../../src/lib/trace';

const s = (spanId: string, parentSpanId: string | null, startMicros: number, durationMicros: number) => ({ spanId, parentSpanId, startMicros, durationMicros });

describe('waterfall', () => {
  it('orders spans depth-first by start time with offsets relative to the trace', () => {
    const { rows, durationMicros } = waterfall([s('c', 'a', 600, 400), s('a', null, 0, 1000), s('b', 'a', 100, 200), s('d', 'b', 150, 50)]);
    expect(rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ['a', 0],
      ['b', 1],
      ['d', 2],
      ['c', 1],
    ]);
    expect(durationMicros).toBe(1000);
    expect(rows[3].offset).toBeCloseTo(0.6);
    expect(rows[3].width).toBeCloseTo(0.4);
  });
  it('makes spans with an absent parent roots, and survives cycles', () => {
    const { rows } = waterfall([s('x', 'gone', 10, 5), s('p', 'q', 0, 1), s('q', 'p', 0, 1)]);
    expect(rows).toHaveLength(3);
    expect(rows.find((r) => r.span.spanId === 'x')!.depth).toBe(0);
  });
  it('handles an empty trace', () => {
    expect(waterfall([]).rows).toEqual([]);
  });
});
