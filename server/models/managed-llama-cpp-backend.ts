import { BackendError, type ChatAnswer, type ChatRequest, type FimAnswer, type FimRequest } from './backend.js';
import { LlamaCppBackend, type LlamaCppBackendOptions } from './llama-cpp-backend.js';
import type { ManagedLlamaServer } from './managed-llama-server.js';

/**
 * The llama.cpp backend of a llama-server Xencode runs itself: it asks the server for its URL before each call
 * (starting it, or waiting for a restart), a request that a crash broke is 'loading' (the server tells the user about
 * the crash, once; the broken request must not be a second message), and closing the backend stops the server.
 */
export class ManagedLlamaCppBackend extends LlamaCppBackend {
  constructor(
    options: Omit<LlamaCppBackendOptions, 'endpoint'>,
    private readonly server: ManagedLlamaServer,
  ) {
    super({ ...options, endpoint: (signal) => server.endpoint(signal) });
  }

  override complete(request: FimRequest): Promise<FimAnswer> {
    return this.restartAware(() => super.complete(request));
  }

  override chat(request: ChatRequest): Promise<ChatAnswer> {
    return this.restartAware(() => super.chat(request));
  }

  override async close(): Promise<void> {
    await this.server.close();
  }

  private async restartAware<T>(call: () => Promise<T>): Promise<T> {
    const crashes = this.server.crashes;
    try {
      return await call();
    } catch (err) {
      if (err instanceof BackendError && (err.kind === 'server' || err.kind === 'unreachable') && (await this.server.crashedSince(crashes)))
        throw new BackendError('loading', `llama-server for ${this.model} stopped and is being restarted.`, err.model, err.host);
      throw err;
    }
  }
}
