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
  /** The newest few per document, newest first: what an edit is compared with (on every keystroke: kept short). */
  private readonly recent = new Map<string, ShownCompletion[]>();

  constructor(
    private readonly capacity = 1000,
    private readonly recentPerDocument = 3,
  ) {}

  add(entry: ShownCompletion): void {
    this.entries.set(entry.id, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    const list = this.recent.get(entry.uri) ?? [];
    list.unshift(entry);
    list.length = Math.min(list.length, this.recentPerDocument);
    this.recent.set(entry.uri, list);
  }

  /** The document was closed. */
  forget(uri: string): void {
    this.recent.delete(uri);
  }

  get(id: string): ShownCompletion | undefined {
    return this.entries.get(id);
  }

  /** The newest shown completions of a document with no outcome yet, newest first. */
  pending(uri: string): ShownCompletion[] {
    return (this.recent.get(uri) ?? []).filter((entry) => !entry.outcome);
  }
}
