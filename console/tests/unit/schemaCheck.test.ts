import { describe, expect, it } from 'vitest';
import { checkJsonSchema, parseJson } from '../../src/lib/schemaCheck';

describe('checkJsonSchema', () => {
  it('accepts a sound schema', () => {
    expect(checkJsonSchema({ type: 'object', required: ['payload'], properties: { payload: { type: 'object', properties: { n: { type: ['integer', 'null'], minimum: 0 } } } } })).toEqual([]);
    expect(checkJsonSchema(true)).toEqual([]);
  });
  it('names the path of each problem', () => {
    const problems = checkJsonSchema({ type: 'obj', required: 'payload', properties: { a: { type: 'string', pattern: '(' }, b: 5 }, minLength: -1 });
    expect(problems.map((p) => p.path).sort()).toEqual(['/minLength', '/properties/a/pattern', '/properties/b', '/required', '/type']);
  });
  it('rejects non-schemas', () => {
    expect(checkJsonSchema([1])).toHaveLength(1);
    expect(checkJsonSchema({ anyOf: [] })[0].path).toBe('/anyOf');
  });
  it('parses JSON with an error message', () => {
    expect(parseJson('{"a":1}').value).toEqual({ a: 1 });
    expect(parseJson('{a}').error).toBeTruthy();
  });
});
