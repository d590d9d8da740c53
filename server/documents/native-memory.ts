import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * tree-sitter trees live in native memory, which V8 does not count: a tree dropped by JavaScript is freed only when
 * its wrapper is collected, and with a small, quiet JavaScript heap that may not happen for a long time (50 open
 * files' old trees stay resident). This collects once enough tree memory has been dropped, when the editor has
 * been quiet for a moment, so the pause never lands on a keystroke.
 */
export class NativeGarbage {
  private pending = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  /**
   * @param thresholdBytes Dropped tree memory tolerated before a collection: about three 2,000-line files' trees.
   *   Under load (bench/startup: completions spread over 50 files, so trees are given up and parsed again all the
   *   time) dropped trees waiting for a collection were a large part of the RSS: 16 MB allowed 12 MB more at the
   *   peak than 6 MB does, for one full collection (~25 ms) per three or four trees given up instead of per ten.
   */
  constructor(
    private readonly collect: (() => void) | undefined = fullGc(),
    private readonly thresholdBytes = 6 * 1024 * 1024,
    private readonly idleMs = 1000,
  ) {}

  /**
   * About `bytes` of native memory became garbage. `now`: whole trees were dropped (files opened or closed, trees
   * given up): collect on the next turn, since a burst of opens would otherwise hold every tree until it ends (the
   * next turn, not at once: a tree is given up inside a request, which then goes on to the model while the
   * collection runs); edits wait for a quiet moment.
   */
  add(bytes: number, now = false): void {
    if (!this.collect) return;
    this.pending += bytes;
    if (this.pending < this.thresholdBytes) return;
    if (now) {
      this.immediate ??= setImmediate(() => this.run());
      return;
    }
    if (this.immediate) return; // a collection is coming anyway
    // Debounced: every new drop during a burst (opening many files, typing) moves the collection later.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), this.idleMs);
    this.timer.unref();
  }

  private run(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.pending = 0;
    this.collect?.();
  }
}

let gcFunction: (() => void) | null | undefined;

/** V8's full collection, made available at run time (editors start the server without --expose-gc). */
function fullGc(): (() => void) | undefined {
  if (gcFunction === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gcFunction = vm.runInNewContext('gc') as () => void;
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction ?? undefined;
}

/** Native memory of a tree for `chars` characters of source: about 25 bytes a character (TypeScript, measured). */
export function treeBytes(chars: number): number {
  return chars * 25;
}
