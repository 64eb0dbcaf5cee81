import { describe, expect, it } from 'vitest';
import { TailBuffer, mergeRows } from '../../src/lib/tailBuffer';

const ev = (n: number, missedBefore = 0) => ({ n, missedBefore });

describe('TailBuffer', () => {
  it('queues and drains in order', () => {
    const b = new TailBuffer<ReturnType<typeof ev>>(10);
    b.push(ev(1));
    b.push(ev(2));
    expect(b.pending).toBe(2);
    expect(b.drain().map((e) => e.n)).toEqual([1, 2]);
    expect(b.pending).toBe(0);
    expect(b.dropped).toBe(0);
    expect(b.stats.received).toBe(2);
  });

  it('counts what the server skipped (missedBefore)', () => {
    const b = new TailBuffer<ReturnType<typeof ev>>(10);
    b.push(ev(1));
    b.push(ev(2, 37));
    b.push(ev(3, 5));
    expect(b.stats.serverDropped).toBe(42);
    expect(b.stats.clientDropped).toBe(0);
    expect(b.dropped).toBe(42);
  });

  it('drops the oldest when the queue overflows and counts them', () => {
    const b = new TailBuffer<ReturnType<typeof ev>>(3);
    for (let i = 1; i <= 8; i++) b.push(ev(i));
    expect(b.stats.clientDropped).toBe(5);
    expect(b.drain().map((e) => e.n)).toEqual([6, 7, 8]);
    expect(b.stats.received).toBe(8);
  });

  it('keeps counting while paused (nothing drained) and resets', () => {
    const b = new TailBuffer<ReturnType<typeof ev>>(100);
    for (let i = 0; i < 2000; i++) b.push(ev(i, i === 1000 ? 3 : 0));
    expect(b.pending).toBe(100);
    expect(b.dropped).toBe(1900 + 3);
    b.reset();
    expect(b.dropped).toBe(0);
    expect(b.pending).toBe(0);
  });
});

describe('mergeRows', () => {
  it('puts the newest first and caps the rows', () => {
    let rows: number[] = [];
    rows = mergeRows(rows, [1, 2, 3], 5);
    expect(rows).toEqual([3, 2, 1]);
    rows = mergeRows(rows, [4, 5, 6], 5);
    expect(rows).toEqual([6, 5, 4, 3, 2]);
  });
  it('returns the same array for an empty batch (no re-render)', () => {
    const rows = [1, 2];
    expect(mergeRows(rows, [], 5)).toBe(rows);
  });
  it('keeps only the newest of a batch larger than the cap', () => {
    expect(mergeRows([0], [1, 2, 3, 4, 5, 6], 3)).toEqual([6, 5, 4]);
  });
});
