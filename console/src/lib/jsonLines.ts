// Pretty-prints a JSON value as lines, each tagged with its JSON pointer, so a dead letter's failing
// paths (RFC 6901 pointers such as `/payload/amount`) can be highlighted in place. A pointer to a
// member that is absent (a missing required field) highlights the object that lacks it and adds a
// marker line naming the missing member.

export interface JsonLine {
  /** nesting depth (for indentation) */
  depth: number;
  /** `"key": ` prefix, empty for array items and the root */
  key: string;
  /** the value text on this line: a scalar, `{`, `[`, `}`, `]`, `{}` or `[]` (with a trailing comma) */
  text: string;
  /** the JSON pointer of the value this line belongs to */
  pointer: string;
  /** true when the line is (inside) a failing path */
  highlighted: boolean;
  /** set on a marker line for a failing member that is absent */
  missing?: string;
  kind: 'string' | 'number' | 'boolean' | 'null' | 'punct';
}

export function escapePointerToken(t: string): string {
  return t.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function unescapePointerToken(t: string): string {
  return t.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Normalises a failing path: "" or "/" is the root; "event_type" becomes "/event_type". */
export function normalizePointer(p: string): string {
  if (!p || p === '/') return '';
  return p.startsWith('/') ? p : `/${p}`;
}

function has(value: unknown, token: string): boolean {
  if (Array.isArray(value)) return /^\d+$/.test(token) && Number(token) < value.length;
  return value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, token);
}

/** Which pointers in `paths` do not resolve in `value`, as [parent pointer, missing token]. */
export function missingMembers(value: unknown, paths: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of paths) {
    const p = normalizePointer(raw);
    if (!p) continue;
    const tokens = p.split('/').slice(1).map(unescapePointerToken);
    let cur: unknown = value;
    let parent = '';
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!has(cur, t)) {
        out.push([parent, t]);
        break;
      }
      cur = (cur as Record<string, unknown>)[t];
      parent = `${parent}/${escapePointerToken(t)}`;
    }
  }
  return out;
}

export function jsonLines(value: unknown, failingPaths: readonly string[] = []): JsonLine[] {
  const hl = failingPaths.map(normalizePointer);
  const missing = missingMembers(value, failingPaths);
  const isHighlighted = (ptr: string) => hl.some((p) => p === '' || p === ptr || ptr.startsWith(`${p}/`));
  const lines: JsonLine[] = [];

  const scalar = (v: unknown): Pick<JsonLine, 'text' | 'kind'> => {
    if (v === null) return { text: 'null', kind: 'null' };
    if (typeof v === 'string') return { text: JSON.stringify(v), kind: 'string' };
    if (typeof v === 'number') return { text: String(v), kind: 'number' };
    if (typeof v === 'boolean') return { text: String(v), kind: 'boolean' };
    return { text: JSON.stringify(v) ?? 'null', kind: 'null' };
  };

  const walk = (v: unknown, depth: number, key: string, ptr: string, comma: boolean) => {
    const tail = comma ? ',' : '';
    const h = isHighlighted(ptr);
    const absent = missing.filter(([parent]) => parent === ptr);
    if (v !== null && typeof v === 'object') {
      const entries: Array<[string, unknown]> = Array.isArray(v)
        ? v.map((x, i) => [String(i), x])
        : Object.entries(v as Record<string, unknown>);
      const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
      const absentHere = absent.length > 0;
      if (entries.length === 0 && !absentHere) {
        lines.push({ depth, key, text: `${open}${close}${tail}`, pointer: ptr, highlighted: h, kind: 'punct' });
        return;
      }
      lines.push({ depth, key, text: open, pointer: ptr, highlighted: h || absentHere, kind: 'punct' });
      entries.forEach(([k, child], i) => {
        const childKey = Array.isArray(v) ? '' : `${JSON.stringify(k)}: `;
        walk(child, depth + 1, childKey, `${ptr}/${escapePointerToken(k)}`, i < entries.length - 1 || absentHere);
      });
      for (const [, token] of absent) {
        lines.push({
          depth: depth + 1,
          key: '',
          text: `missing: ${JSON.stringify(token)}`,
          pointer: `${ptr}/${escapePointerToken(token)}`,
          highlighted: true,
          missing: token,
          kind: 'punct',
        });
      }
      lines.push({ depth, key: '', text: `${close}${tail}`, pointer: ptr, highlighted: h || absentHere, kind: 'punct' });
      return;
    }
    const s = scalar(v);
    lines.push({ depth, key, text: `${s.text}${tail}`, pointer: ptr, highlighted: h, kind: s.kind });
  };

  walk(value, 0, '', '', false);
  return lines;
}
