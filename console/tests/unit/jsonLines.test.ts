import { describe, expect, it } from 'vitest';
import { jsonLines, missingMembers, normalizePointer } from '../../src/lib/jsonLines';

describe('jsonLines', () => {
  const body = { event_type: 'order.created', payload: { amount: 'ten', items: [1, { sku: 'x/y' }] } };

  it('renders every line with its pointer', () => {
    const lines = jsonLines(body);
    expect(lines[0]).toMatchObject({ text: '{', pointer: '', depth: 0 });
    expect(lines.find((l) => l.pointer === '/payload/amount')).toMatchObject({ key: '"amount": ', text: '"ten",', kind: 'string' });
    expect(lines.find((l) => l.pointer === '/payload/items/1/sku')).toMatchObject({ text: '"x/y"', depth: 4 });
    expect(lines.some((l) => l.highlighted)).toBe(false);
  });

  it('highlights a failing value', () => {
    const lines = jsonLines(body, ['/payload/amount']);
    const hl = lines.filter((l) => l.highlighted);
    expect(hl).toHaveLength(1);
    expect(hl[0].pointer).toBe('/payload/amount');
  });

  it('highlights a failing object and all of its lines', () => {
    const lines = jsonLines(body, ['/payload/items']);
    const hl = lines.filter((l) => l.highlighted).map((l) => l.pointer);
    expect(hl).toContain('/payload/items');
    expect(hl).toContain('/payload/items/1/sku');
    expect(hl).not.toContain('/payload/amount');
  });

  it('decodes escaped pointer tokens', () => {
    const lines = jsonLines({ 'a/b': 1, 'c~d': 2 }, ['/a~1b']);
    expect(lines.filter((l) => l.highlighted).map((l) => l.key)).toEqual(['"a/b": ']);
  });

  it('marks a missing required member inside the object that lacks it', () => {
    const lines = jsonLines({ payload: {} }, ['/event_type']);
    const marker = lines.find((l) => l.missing === 'event_type');
    expect(marker).toBeDefined();
    expect(marker!.highlighted).toBe(true);
    expect(marker!.depth).toBe(1);
    // the root braces are highlighted, the unrelated member is not
    expect(lines[0].highlighted).toBe(true);
    expect(lines.find((l) => l.pointer === '/payload')!.highlighted).toBe(false);
  });

  it('treats paths without a leading slash and the root', () => {
    expect(normalizePointer('event_type')).toBe('/event_type');
    expect(normalizePointer('/')).toBe('');
    const lines = jsonLines([1, 2], ['']);
    expect(lines.every((l) => l.highlighted)).toBe(true);
  });

  it('finds missing members', () => {
    expect(missingMembers({ a: { b: 1 } }, ['/a/c', '/a/b', '/x/y'])).toEqual([
      ['/a', 'c'],
      ['', 'x'],
    ]);
  });
});
