/**
 * Deadlines in one queue driven by one timer: a binary min-heap on `due`, and a timer armed for its earliest
 * item. Nothing is removed from the middle: an item that no longer counts (`isStale`) is skipped when it comes
 * to the top, and `compact` rebuilds the heap from the live ones.
 */

/** Arms a timer: `fire` after `delayMs`; returns a function that disarms it. */
export type Schedule = (delayMs: number, fire: () => void) => () => void;

/** setTimeout, unref'd (it never holds the process open). */
export const defaultSchedule: Schedule = (delayMs, fire) => {
  const timer = setTimeout(fire, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

export interface DeadlineQueueOptions<T> {
  /** Whether an item no longer counts. */
  readonly isStale: (item: T) => boolean;
  readonly schedule: Schedule;
  /** The clock (ms). */
  readonly now: () => number;
  /** Called when the timer fires (it is disarmed by then). */
  readonly onFire: () => void;
}

export class DeadlineQueue<T extends { readonly due: number }> {
  private readonly heap: T[] = [];
  private armedDue: number | undefined;
  private disarm: (() => void) | undefined;

  constructor(private readonly options: DeadlineQueueOptions<T>) {}

  /** Items held, stale ones included. */
  get length(): number {
    return this.heap.length;
  }

  /** The earliest live item (stale ones at the top are dropped). */
  peek(): T | undefined {
    while (this.heap.length > 0 && this.options.isStale(this.heap[0]!)) this.pop();
    return this.heap[0];
  }

  /** Rebuilds the heap from its live items. */
  compact(): void {
    const live = this.heap.filter((item) => !this.options.isStale(item));
    this.heap.length = 0;
    for (const item of live) this.push(item);
  }

  /** Arms the timer for the earliest live item (when that is not what it is armed for already). */
  rearm(): void {
    const due = this.peek()?.due;
    if (due === this.armedDue) return;
    this.disarm?.();
    this.disarm = undefined;
    this.armedDue = due;
    if (due === undefined) return;
    this.disarm = this.options.schedule(Math.max(0, due - this.options.now()), () => {
      this.disarm = this.armedDue = undefined;
      this.options.onFire();
    });
  }

  /** Stops the timer and empties the queue. */
  clear(): void {
    this.disarm?.();
    this.disarm = this.armedDue = undefined;
    this.heap.length = 0;
  }

  push(item: T): void {
    const q = this.heap;
    q.push(item);
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (q[parent]!.due <= item.due) break;
      q[i] = q[parent]!;
      i = parent;
    }
    q[i] = item;
  }

  pop(): T | undefined {
    const q = this.heap;
    const top = q[0];
    const last = q.pop();
    if (q.length > 0 && last) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= q.length) break;
        const right = left + 1;
        const child = right < q.length && q[right]!.due < q[left]!.due ? right : left;
        if (q[child]!.due >= last.due) break;
        q[i] = q[child]!;
        i = child;
      }
      q[i] = last;
    }
    return top;
  }
}
