/** A completion the user was shown, kept so that accept/reject reports can be attributed to it. */
export interface ShownCompletion {
  readonly id: string;
  readonly uri: string;
  readonly text: string;
  readonly models: readonly string[];
  readonly shownAt: number;
  /** Where the answer goes (document offset at the cursor, in the version it was computed for). */
  readonly offset?: number;
  outcome?: 'accepted' | 'rejected';
  acceptedLength?: number;
}

/** The most recent shown completions, bounded (oldest forgotten first). */
export class ShownCompletions {
  private readonly entries = new Map<string, ShownCompletion>();

  constructor(private readonly capacity = 1000) {}

  add(entry: ShownCompletion): void {
    this.entries.set(entry.id, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get(id: string): ShownCompletion | undefined {
    return this.entries.get(id);
  }

  /** The newest shown completions of a document with no outcome yet, newest first (at most `limit`). */
  pending(uri: string, limit: number): ShownCompletion[] {
    const found: ShownCompletion[] = [];
    for (const entry of [...this.entries.values()].reverse()) {
      if (entry.uri !== uri || entry.outcome) continue;
      found.push(entry);
      if (found.length === limit) break;
    }
    return found;
  }
}
