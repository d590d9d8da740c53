import { actionModels, type ModelSetting, type Settings } from '../config.js';
import type { Logger } from '../log.js';
import type { CompletionBackend } from '../models/backend.js';
import { backendKey } from '../models/registry.js';
import type { ChatMember } from './actions/ask-models.js';
import type { EnsembleMember } from './ensemble.js';
import { ModelSlots } from './model-slots.js';

interface Pooled {
  readonly backend: CompletionBackend;
  readonly slots: ModelSlots;
}

/**
 * The backends of the configured models: one backend (and one slot pool) per distinct server and model, shared by
 * completions, actions and hovers, kept across settings changes, and closed when no model uses it any more (a
 * managed llama-server stops, replica probes end).
 */
export class BackendPool {
  private pool = new Map<string, Pooled>();
  /** The configured concurrency per backend (the highest where several entries share one). */
  private concurrency = new Map<string, number>();

  constructor(
    private readonly makeBackend: (model: ModelSetting, settings: Settings) => CompletionBackend,
    private readonly logger: Logger,
  ) {}

  /** The completion members (keyed by backend) and the action members for `settings`. */
  configure(settings: Settings): { members: Map<string, EnsembleMember>; chatMembers: ChatMember[] } {
    const next = new Map<string, Pooled>();
    this.concurrency = new Map();
    const members = new Map(settings.models.map((model) => [backendKey(model, settings), { ...this.pooled(model, settings, next), weight: model.weight }]));
    const chatMembers = actionModels(settings).map((model) => ({ ...this.pooled(model, settings, next), weight: model.weight }));
    for (const [key, { backend }] of this.pool) if (!next.has(key)) void this.closeBackend(backend);
    this.pool = next;
    return { members, chatMembers };
  }

  async close(): Promise<void> {
    await Promise.all([...this.pool.values()].map(({ backend }) => this.closeBackend(backend)));
  }

  private pooled(model: ModelSetting, settings: Settings, next: Map<string, Pooled>): Pooled {
    const key = backendKey(model, settings);
    if (model.concurrency !== undefined) this.concurrency.set(key, Math.max(this.concurrency.get(key) ?? 0, model.concurrency));
    let entry = next.get(key) ?? this.pool.get(key);
    if (!entry) {
      const backend = this.makeBackend(model, settings);
      // Without a configured concurrency, as many requests at once as the server has slots (when it says).
      entry = { backend, slots: new ModelSlots(() => this.concurrency.get(key) ?? backend.serverSlots ?? 1) };
    }
    next.set(key, entry);
    return entry;
  }

  private async closeBackend(backend: CompletionBackend): Promise<void> {
    try {
      await backend.close?.();
    } catch (err) {
      this.logger.warn(`closing ${backend.model} at ${backend.host}: ${(err as Error).message}`);
    }
  }
}
