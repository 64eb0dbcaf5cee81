// A JSON document with its failing paths highlighted (and absent members marked).
import { useMemo } from 'react';
import { jsonLines } from '../lib/jsonLines';
import { CopyButton } from './common';

export function JsonView({ value, failingPaths = [], label = 'JSON' }: { value: unknown; failingPaths?: readonly string[]; label?: string }) {
  const lines = useMemo(() => jsonLines(value, failingPaths), [value, failingPaths]);
  const text = useMemo(() => JSON.stringify(value, null, 2) ?? 'null', [value]);
  return (
    <div className="json-wrap">
      <div className="json-tools">
        <CopyButton text={text} label={`Copy ${label}`} />
      </div>
      <pre className="json mono" aria-label={label} tabIndex={0}>
        {lines.map((l, i) => (
          <div
            key={i}
            className={`jl${l.highlighted ? ' hl' : ''}${l.missing !== undefined ? ' missing' : ''}`}
            style={{ paddingLeft: `${l.depth * 2}ch` }}
            data-pointer={l.pointer}
            data-highlighted={l.highlighted || undefined}
          >
            {l.highlighted ? <span className="sr-only">failing: </span> : null}
            {l.key ? <span className="jk">{l.key}</span> : null}
            <span className={`jv ${l.kind}`}>{l.text}</span>
          </div>
        ))}
      </pre>
    </div>
  );
}
