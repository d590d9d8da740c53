/** A completion the user was shown, kept so that accept/reject reports can be attributed to it. */
export interface ShownCompletion {
  readonly id: string;
  readonly uri: string;
  readonly text: string;
  readonly models: readonly string[];
  readonly shownAt: number;
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
}
