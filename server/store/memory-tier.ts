/**
 * The answer cache's memory tier: an LRU bounded by entry count and by (estimated) bytes. The count alone
 * (cache.maxEntries, 50,000 by default, sized for the disk) let the tier grow to tens of MB in a long session, about
 * 600 bytes an average completion and several kB a hover; the disk tier answers what the memory tier has let go in
 * microseconds, so the memory tier only needs the recent answers.
 */
export class MemoryTier<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>(); // insertion order = recency order
  private total = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  /** The value, made the most recent. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /**
   * Stores `value` as the most recent (replacing an older value), then drops the least recent entries until both
   * bounds hold. Returns how many other entries were dropped. A value larger than maxBytes on its own is not kept.
   */
  set(key: string, value: V, bytes: number): number {
    this.delete(key);
    if (bytes > this.maxBytes || this.maxEntries <= 0) return 0;
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    let evicted = 0;
    while (this.entries.size > this.maxEntries || this.total > this.maxBytes) {
      const oldest = this.entries.keys().next().value!;
      this.delete(oldest);
      evicted++;
    }
    return evicted;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The estimated bytes held. */
  get bytes(): number {
    return this.total;
  }
}
