import { describe, expect, it } from 'vitest';
import { formatDuration, formatNumber, formatPercent, formatRate, formatRelative, formatTimestamp, humanize, isUuid, truncateMiddle } from '../../src/lib/format';

describe('numbers and rates', () => {
  it('uses thousands separators', () => {
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(null)).toBe('—');
    expect(formatNumber(0.25)).toBe('0.25');
  });
  it('gives rates a unit and sensible precision', () => {
    expect(formatRate(0.25)).toBe('0.25 events/s');
    expect(formatRate(12.34)).toBe('12.3 events/s');
    expect(formatRate(2049.6)).toBe('2,050 events/s');
    expect(formatRate(undefined)).toBe('—');
  });
  it('formats ratios as percent', () => {
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.0123)).toBe('1.23 %');
    expect(formatPercent(0.5)).toBe('50 %');
  });
});

describe('durations', () => {
  it('rounds by magnitude', () => {
    expect(formatDuration(0.42)).toBe('0.42 ms');
    expect(formatDuration(4.26)).toBe('4.3 ms');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1234)).toBe('1.2 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(184_000)).toBe('3 min 4 s');
    expect(formatDuration(180_000)).toBe('3 min');
    expect(formatDuration(7_500_000)).toBe('2 h 5 min');
  });
});

describe('times', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  it('says how long ago', () => {
    expect(formatRelative('2026-12-01T09:59:48Z', now)).toBe('12 s ago');
    expect(formatRelative('2026-12-01T09:57:00Z', now)).toBe('3 min ago');
    expect(formatRelative('2026-12-01T07:00:00Z', now)).toBe('3 h ago');
    expect(formatRelative('2026-12-01T10:00:05Z', now)).toBe('in 5 s');
    expect(formatRelative('2026-12-01T10:00:00.500Z', now)).toBe('just now');
    expect(formatRelative(null, now)).toBe('—');
  });
  it('prints absolute UTC with milliseconds', () => {
    expect(formatTimestamp('2026-12-01T10:00:00.123Z')).toBe('2026-12-01 10:00:00.123 UTC');
    expect(formatTimestamp('not a date')).toBe('—');
  });
});

describe('ids', () => {
  it('truncates in the middle', () => {
    expect(truncateMiddle('0199a2b4-1c2d-7e8f-9a0b-1c2d3e4f7c1e')).toBe('0199a2b4…7c1e');
    expect(truncateMiddle('short')).toBe('short');
  });
  it('recognises uuids', () => {
    expect(isUuid('0199a2b4-1c2d-7e8f-9a0b-1c2d3e4f7c1e')).toBe(true);
    expect(isUuid('order-123')).toBe(false);
  });
  it('humanizes codes', () => {
    expect(humanize('MISSING_FIELD')).toBe('missing field');
  });
});
