// Lays out a trace's spans as a waterfall: depth-first by parent, children by start time, each with
// its offset and width relative to the trace. Spans whose parent is absent (sampled out, or in another
// service not exported) become roots.

export interface SpanLike {
  spanId: string;
  parentSpanId?: string | null;
  startMicros: number;
  durationMicros: number;
}

export interface WaterfallRow<S extends SpanLike> {
  span: S;
  depth: number;
  /** 0..1 from the trace start */
  offset: number;
  /** 0..1 of the trace duration (at least a sliver so a 0 µs span stays visible) */
  width: number;
}

export function waterfall<S extends SpanLike>(spans: readonly S[]): { rows: WaterfallRow<S>[]; startMicros: number; durationMicros: number } {
  if (spans.length === 0) return { rows: [], startMicros: 0, durationMicros: 0 };
  const start = Math.min(...spans.map((s) => s.startMicros));
  const end = Math.max(...spans.map((s) => s.startMicros + s.durationMicros));
  const total = Math.max(1, end - start);
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, S[]>();
  const roots: S[] = [];
  for (const s of spans) {
    if (s.parentSpanId && ids.has(s.parentSpanId) && s.parentSpanId !== s.spanId) {
      const l = children.get(s.parentSpanId) ?? [];
      l.push(s);
      children.set(s.parentSpanId, l);
    } else roots.push(s);
  }
  const byStart = (a: S, b: S) => a.startMicros - b.startMicros;
  const rows: WaterfallRow<S>[] = [];
  const seen = new Set<string>();
  const visit = (s: S, depth: number) => {
    if (seen.has(s.spanId)) return;
    seen.add(s.spanId);
    rows.push({ span: s, depth, offset: (s.startMicros - start) / total, width: Math.max(0.002, s.durationMicros / total) });
    for (const c of (children.get(s.spanId) ?? []).sort(byStart)) visit(c, depth + 1);
  };
  roots.sort(byStart).forEach((r) => visit(r, 0));
  // a cycle in parent ids would leave spans unvisited: show them as roots rather than hide them
  for (const s of spans) if (!seen.has(s.spanId)) visit(s, 0);
  return { rows, startMicros: start, durationMicros: end - start };
}
