/**
 * Per-model concurrency: Ollama runs requests to one model one at a time by default (OLLAMA_NUM_PARALLEL=1), so
 * sending more only queues them on the server, where an abort is slower to take effect. Waiting here instead keeps
 * the queue ours, and a waiter whose signal aborts leaves the queue at once. The limit may be a function: a model
 * without a configured concurrency follows its server's slot count once the server says it (llama-server).
 */
export class ModelSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limitOf: number | (() => number)) {}

  get limit(): number {
    return typeof this.limitOf === 'number' ? this.limitOf : Math.max(1, this.limitOf());
  }

  /** Resolves with a release function once a slot is free; rejects with the signal's reason if it aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.active++;
        resolve(this.releaser());
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal.reason);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      // A limit that grew meanwhile (the server said it has more slots) lets several waiters in.
      while (this.waiting.length > 0 && this.active < this.limit) this.waiting.shift()!();
    };
  }
}
