// Bars of a per-minute count above a list; a click on a bar narrows the list to that minute.
import { usePrefs } from '../lib/prefs';
import { formatClock, formatNumber } from '../lib/format';

export interface Bar {
  minute: string;
  count: number;
}

export function Histogram({ bars, selected, onPick, label }: { bars: readonly Bar[]; selected: string | null; onPick(minute: string | null): void; label: string }) {
  const { utc } = usePrefs();
  const max = Math.max(1, ...bars.map((b) => b.count));
  const w = 100 / Math.max(1, bars.length);
  return (
    <figure className="histogram" aria-label={label}>
      <svg viewBox="0 0 100 30" preserveAspectRatio="none" role="img" aria-label={`${label}: ${formatNumber(bars.reduce((n, b) => n + b.count, 0))} in the last ${bars.length} minutes`}>
        {bars.map((b, i) => {
          const h = b.count === 0 ? 0 : Math.max(1.5, (b.count / max) * 28);
          const on = selected === b.minute;
          return (
            <g key={b.minute} onClick={() => onPick(on ? null : b.minute)} className={`hbar${on ? ' on' : ''}`}>
              <title>{`${formatClock(b.minute, utc)}${utc ? ' UTC' : ''}: ${formatNumber(b.count)}`}</title>
              <rect x={i * w} y={0} width={w} height={30} className="hit" />
              <rect x={i * w + w * 0.1} y={30 - h} width={w * 0.8} height={h} className="fill" />
            </g>
          );
        })}
      </svg>
      <figcaption className="small muted">
        {bars.length ? `${formatClock(bars[0].minute, utc).slice(0, 5)} – ${formatClock(bars[bars.length - 1].minute, utc).slice(0, 5)}${utc ? ' UTC' : ''}` : ''} · click a bar to list that minute
      </figcaption>
    </figure>
  );
}
