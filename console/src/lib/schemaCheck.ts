// A client-side check of a JSON Schema before it is sent to `setEventSchema` (the server validates it
// again as a JSON Schema; this catches the common mistakes while typing and names the path).

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

export interface SchemaProblem {
  path: string;
  message: string;
}

export function parseJson(text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

export function checkJsonSchema(schema: unknown, path = ''): SchemaProblem[] {
  if (typeof schema === 'boolean') return [];
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    return [{ path: path || '/', message: 'a schema must be an object or a boolean' }];
  }
  const s = schema as Record<string, unknown>;
  const out: SchemaProblem[] = [];
  const at = (k: string) => `${path}/${k}`;
  if ('type' in s) {
    const t = s.type;
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0 || list.some((x) => typeof x !== 'string' || !TYPES.has(x))) {
      out.push({ path: at('type'), message: `type must be one of ${[...TYPES].join(', ')} (or a list of them)` });
    }
  }
  if ('required' in s) {
    const r = s.required;
    if (!Array.isArray(r) || r.some((x) => typeof x !== 'string')) {
      out.push({ path: at('required'), message: 'required must be a list of property names' });
    } else if (new Set(r).size !== r.length) {
      out.push({ path: at('required'), message: 'required has duplicate names' });
    }
  }
  for (const k of ['properties', 'patternProperties', '$defs', 'definitions']) {
    if (k in s) {
      const p = s[k];
      if (p === null || typeof p !== 'object' || Array.isArray(p)) {
        out.push({ path: at(k), message: `${k} must be an object of schemas` });
      } else {
        for (const [name, sub] of Object.entries(p as Record<string, unknown>)) out.push(...checkJsonSchema(sub, `${at(k)}/${name}`));
      }
    }
  }
  for (const k of ['items', 'additionalProperties', 'not', 'contains', 'propertyNames']) {
    if (k in s && !(k === 'items' && Array.isArray(s[k]))) out.push(...checkJsonSchema(s[k], at(k)));
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    if (k in s) {
      const l = s[k];
      if (!Array.isArray(l) || l.length === 0) out.push({ path: at(k), message: `${k} must be a non-empty list of schemas` });
      else l.forEach((sub, i) => out.push(...checkJsonSchema(sub, `${at(k)}/${i}`)));
    }
  }
  for (const k of ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties']) {
    if (k in s && !(Number.isInteger(s[k]) && (s[k] as number) >= 0)) out.push({ path: at(k), message: `${k} must be a non-negative integer` });
  }
  for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']) {
    if (k in s && typeof s[k] !== 'number') out.push({ path: at(k), message: `${k} must be a number` });
  }
  if ('pattern' in s) {
    if (typeof s.pattern !== 'string') out.push({ path: at('pattern'), message: 'pattern must be a string' });
    else {
      try {
        new RegExp(s.pattern, 'u');
      } catch {
        out.push({ path: at('pattern'), message: 'pattern is not a valid regular expression' });
      }
    }
  }
  if ('enum' in s && (!Array.isArray(s.enum) || s.enum.length === 0)) out.push({ path: at('enum'), message: 'enum must be a non-empty list' });
  return out;
}
