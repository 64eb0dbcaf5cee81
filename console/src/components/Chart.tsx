// A uPlot time-series chart that follows the theme and its container's width. Series differ by dash
// pattern and legend label as well as colour, so they read without colour too.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { usePrefs } from '../lib/prefs';
import { formatClock, formatTimestamp } from '../lib/format';

export interface SeriesSpec {
  label: string;
  /** CSS variable name holding the colour, e.g. --c1 */
  color: string;
  dash?: number[];
  /** which y scale (default "y") */
  scale?: string;
  fill?: boolean;
  bars?: boolean;
  value?: (v: number | null) => string;
}

export interface ChartProps {
  /** [x seconds[], ...series values[]] */
  data: uPlot.AlignedData;
  series: SeriesSpec[];
  height?: number;
  title: string;
  yLabel?: string;
  y2Label?: string;
  testId?: string;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function Chart({ data, series, height = 200, title, yLabel, y2Label, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const { theme, utc } = usePrefs();
  const dataRef = useRef(data);
  dataRef.current = data;
  const seriesKey = JSON.stringify(series.map((s) => [s.label, s.color, s.scale, s.bars]));

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axisColor = cssVar('--muted');
    const grid = cssVar('--grid');
    const hasY2 = series.some((s) => s.scale === 'y2');
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] }, ...(hasY2 ? { y2: { range: (_u: uPlot, _min: number, max: number) => [0, max > 0 ? max * 1.1 : 1] as uPlot.Range.MinMax } } : {}) },
      axes: [
        {
          stroke: axisColor,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          space: 70,
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400],
          // HH:MM (or HH:MM:SS for short ranges) in the chosen time zone; dates only when the range spans days
          values: (_u, splits, _ax, _space, incr) =>
            splits.map((v) => {
              const c = formatClock(v * 1000, utc);
              if (incr >= 86400) return formatTimestamp(new Date(v * 1000), utc).slice(5, 10);
              return incr < 60 ? c : c.slice(0, 5);
            }),
        },
        { stroke: axisColor, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, label: yLabel, size: 60 },
        ...(hasY2 ? [{ scale: 'y2', side: 1, stroke: axisColor, grid: { show: false }, label: y2Label, size: 60 } as uPlot.Axis] : []),
      ],
      series: [
        { label: 'time', value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : formatClock(v * 1000, utc)) },
        ...series.map((s) => {
          const color = cssVar(s.color);
          return {
            label: s.label,
            stroke: color,
            width: 2,
            dash: s.dash,
            scale: s.scale ?? 'y',
            fill: s.fill ? `${color}33` : undefined,
            paths: s.bars ? uPlot.paths.bars?.({ size: [0.8, 40] }) : undefined,
            points: { show: false },
            value: s.value ? (_u: uPlot, v: number | null) => s.value!(v) : undefined,
          } as uPlot.Series;
        }),
      ],
    };
    const u = new uPlot(opts, dataRef.current, el);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== u.width) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // series/theme changes rebuild the chart; data changes only call setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [seriesKey, theme, utc, height, yLabel, y2Label]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure className="chart" data-testid={testId} aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-box" role="img" aria-label={`${title} chart`} />
    </figure>
  );
}
