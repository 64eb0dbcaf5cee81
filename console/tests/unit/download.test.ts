import { describe, expect, it } from 'vitest';
import { toCsv } from '../../src/lib/download';

describe('toCsv', () => {
  it('quotes what needs quoting and writes objects as JSON', () => {
    const csv = toCsv([
      { id: 'a', reason: 'MISSING_FIELD', message: 'say "hi", twice', body: { x: 1 } },
      { id: 'b', reason: 'INVALID_TYPE', message: 'line\nbreak', body: null },
    ]);
    expect(csv).toBe('id,reason,message,body\r\na,MISSING_FIELD,"say ""hi"", twice","{""x"":1}"\r\nb,INVALID_TYPE,"line\nbreak",\r\n');
  });
  it('is empty for no rows', () => {
    expect(toCsv([])).toBe('');
  });
});
