import { PROVIDER_LABELS, type BackendError, type BackendErrorKind, type ProviderName } from '../models/backend.js';

/** How the engine tells the user about backend trouble (the LSP layer shows it as window/showMessage). */
export interface UserNotifier {
  warn(message: string): void;
  info(message: string): void;
}

/** Kinds that are the user's to fix and worth one message; 'aborted' and 'loading' (transient) are not. */
const REPORTED: ReadonlySet<BackendErrorKind> = new Set(['unreachable', 'model-not-found', 'no-insert', 'server', 'busy', 'bad-request', 'unauthorized', 'wrong-provider']);

/**
 * Tells the user about each backend problem once, not once per keystroke, and says so when it is gone.
 * A problem is keyed by host for 'unreachable' (one server down is one message however many models it serves)
 * and by model otherwise.
 */
export class BackendHealth {
  private readonly open = new Map<string, BackendError>();

  constructor(private readonly notifier: UserNotifier) {}

  failed(error: BackendError): void {
    if (!REPORTED.has(error.kind)) return;
    const key = this.key(error.kind, error.model, error.host);
    if (this.open.has(key)) return;
    this.open.set(key, error);
    this.notifier.warn(error.message);
  }

  succeeded(model: string, host: string, provider: ProviderName = 'ollama'): void {
    for (const [key, error] of this.open) {
      if (error.host !== host) continue;
      if (error.kind !== 'unreachable' && error.model !== model) continue;
      this.open.delete(key);
      if (error.kind === 'unreachable') this.notifier.info(`${capitalized(PROVIDER_LABELS[provider])} at ${host} is reachable again.`);
      else if (error.kind === 'model-not-found') this.notifier.info(`Model ${model} is available now.`);
    }
  }

  /** Open problems, for xencode.stats and `doctor`. */
  problems(): string[] {
    return [...this.open.values()].map((e) => e.message);
  }

  private key(kind: BackendErrorKind, model: string, host: string): string {
    return kind === 'unreachable' ? `unreachable ${host}` : `${kind} ${model}@${host}`;
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
