// The live tail's buffer between the WebSocket and React. Events arrive far faster than the screen
// repaints (2,000/s and more), so they are queued here and drained once per animation frame; the
// queue and the rendered rows are both capped, and everything that falls off is counted so the view
// can say "N dropped" instead of silently losing events.

export interface TailItem {
  missedBefore?: number | null;
}

export interface TailCounts {
  /** items the server said this subscriber missed (sum of `missedBefore`) */
  serverDropped: number;
  /** items received but thrown away by the console (queue overflow while behind or paused) */
  clientDropped: number;
  /** items received in total */
  received: number;
}

export class TailBuffer<T extends TailItem> {
  private queue: T[] = [];
  private counts: TailCounts = { serverDropped: 0, clientDropped: 0, received: 0 };

  /** `queueCap`: the most items kept waiting for the next frame (older ones are dropped first). */
  constructor(private readonly queueCap: number) {}

  push(item: T): void {
    this.counts.received += 1;
    const missed = item.missedBefore ?? 0;
    if (missed > 0) this.counts.serverDropped += missed;
    this.queue.push(item);
    if (this.queue.length > this.queueCap) {
      const over = this.queue.length - this.queueCap;
      this.queue.splice(0, over);
      this.counts.clientDropped += over;
    }
  }

  /** Takes everything queued, oldest first. */
  drain(): T[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }

  get pending(): number {
    return this.queue.length;
  }

  get stats(): TailCounts {
    return { ...this.counts };
  }

  get dropped(): number {
    return this.counts.serverDropped + this.counts.clientDropped;
  }

  reset(): void {
    this.queue = [];
    this.counts = { serverDropped: 0, clientDropped: 0, received: 0 };
  }
}

/**
 * Merges a drained batch (oldest first) into the rendered rows (newest first), keeping at most
 * `rowCap` rows. Returns the new rows and how many rows fell off the end (these were shown, so they
 * are not "dropped").
 */
export function mergeRows<T>(rows: readonly T[], batch: readonly T[], rowCap: number): T[] {
  if (batch.length === 0) return rows as T[];
  const fresh = batch.length > rowCap ? batch.slice(batch.length - rowCap) : batch;
  const next = new Array<T>(Math.min(rowCap, fresh.length + rows.length));
  let i = 0;
  for (let j = fresh.length - 1; j >= 0 && i < next.length; j--) next[i++] = fresh[j];
  for (let j = 0; j < rows.length && i < next.length; j++) next[i++] = rows[j];
  return next;
}
