/**
 * A child process that cannot outlive this one, even when this one is killed with SIGKILL.
 *
 * Node cannot ask Linux for PR_SET_PDEATHSIG, and macOS has no such thing, so the child is started by a tiny POSIX
 * `sh` watchdog. The watchdog gets one end of a socket pair from us on fd 3 (libuv's 'pipe' stdio), whose other
 * end only this process holds (libuv opens it close-on-exec, so no other child inherits it). However this process
 * ends, the kernel closes our end and the watchdog's read of fd 3 reaches EOF: it then stops the child (SIGTERM,
 * SIGKILL after a grace). It also forwards SIGTERM/SIGINT/SIGHUP to the child the same way, and exits when the child
 * exits, with its status (128 + N when a signal N killed it). The child itself does not get fd 3. The watchdog is
 * a session leader (detached), so that a last SIGKILL to its process group takes everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

/**
 * $1 is the grace in seconds before SIGKILL, the rest is the command. Builtins only, except the killer's short
 * `sleep`s: it ends by itself within 0.1 s of the child, and every helper is waited for (no zombie left). The trap
 * is set before the child starts (a TERM in between would leave the child behind), and a TERM that comes before
 * every process id is known is kept for then (stopping earlier would fork the killer and change `$!` under the
 * set-up). Once the child has exited, signals are ignored so the clean-up always ends.
 * A forked dash loses a SIGTERM that arrives before it has reset its traps (seen here): so the watcher gets SIGKILL
 * (it has nothing to clean up), and the killer sends the child a second SIGTERM after 0.5 s, for a stop that came
 * just after the fork.
 */
const WATCHDOG_SCRIPT = `
grace=$1; shift
ready=; pending=; stopping=
stop() {
  [ -z "$ready" ] && { pending=1; return; }
  [ -n "$stopping" ] && return
  stopping=1
  kill -TERM "$server" 2>/dev/null
  ( i=0; while [ $i -lt $((grace * 10)) ] && kill -0 "$server" 2>/dev/null; do
      sleep 0.1; i=$((i + 1)); [ $i -eq 5 ] && kill -TERM "$server" 2>/dev/null
    done
    kill -0 "$server" 2>/dev/null && kill -KILL "$server" ) &
}
trap stop TERM INT HUP
"$@" 3<&- &
server=$!
echo "$server" >&3
( while read -r _; do :; done; kill -TERM $$ ) <&3 &
watcher=$!
exec 3<&-
ready=1
[ -n "$pending" ] && stop
wait "$server"; status=$?
while kill -0 "$server" 2>/dev/null; do wait "$server"; status=$?; done
trap '' TERM INT HUP
kill -KILL "$watcher" 2>/dev/null
wait
exit "$status"
`;

/** Lines of output kept for messages. */
const KEPT_LINES = 40;
/** A longer line is cut (a runaway line without newlines must not grow the buffer). */
const MAX_LINE_CHARS = 1000;
/** How long after the exit the output may take to drain before `exited` resolves anyway. */
const DRAIN_MS = 1000;

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** "exited with code 1", "was killed by SIGKILL", … */
  readonly description: string;
}

export interface WatchedProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Seconds between SIGTERM and SIGKILL when the watchdog stops the child (default 5). */
  readonly graceSeconds?: number;
  /** Each line the child writes (stdout and stderr). */
  readonly onLine?: (line: string) => void;
}

export class WatchedProcess {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private childPid: number | undefined;
  private exitInfo: ProcessExit | undefined;
  private readonly graceSeconds: number;
  /** Resolves once the watchdog has exited and its output has drained (or DRAIN_MS passed). */
  readonly exited: Promise<ProcessExit>;

  constructor(private readonly options: WatchedProcessOptions) {
    this.graceSeconds = options.graceSeconds ?? 5;
    const direct = process.platform === 'win32';
    // Windows has no sh: the child is started directly there and is stopped only by close() (no orphan guard).
    this.child = direct
      ? spawn(options.command, [...options.args], { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
      : spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'xencode-watchdog', String(this.graceSeconds), options.command, ...options.args], {
          env: options.env,
          stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
          detached: true,
        });
    if (direct) this.childPid = this.child.pid;
    const exit = new Promise<ProcessExit>((resolve) => {
      this.child.once('exit', (code, signal) => resolve(describeExit(code, signal)));
      // A failed spawn (no /bin/sh, EAGAIN) emits 'error' and no 'exit'.
      this.child.once('error', (err) => resolve({ code: null, signal: null, description: `could not be started (${err.message})` }));
    });
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.exited = exit.then(async (info) => {
      this.exitInfo = info;
      await Promise.race([closed, new Promise((r) => setTimeout(r, DRAIN_MS).unref())]);
      return info;
    });
    this.collect(this.child.stdout);
    this.collect(this.child.stderr);
    const control = this.child.stdio[3] as (Readable & { unref?: () => void }) | undefined;
    if (control) {
      control.setEncoding('utf8');
      let text = '';
      control.on('data', (chunk: string) => {
        text += chunk;
        const pid = Number.parseInt(text, 10);
        if (text.includes('\n') && Number.isInteger(pid) && pid > 0) this.childPid = pid;
      });
      control.on('error', () => undefined);
    }
    // Never keep Xencode alive for the child's sake: when it exits, the watchdog stops the child.
    this.child.unref();
    for (const stream of [this.child.stdout, this.child.stderr, control]) (stream as { unref?: () => void } | null | undefined)?.unref?.();
  }

  /** The watchdog's process id (the child's own when there is no watchdog). */
  get watchdogPid(): number | undefined {
    return this.child.pid;
  }

  /** The child's process id, once the watchdog has said it. */
  get pid(): number | undefined {
    return this.childPid;
  }

  /** Undefined while it runs. */
  get exit(): ProcessExit | undefined {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.exitInfo === undefined;
  }

  /** The last lines the child wrote (at most KEPT_LINES), oldest first. */
  lastLines(count = KEPT_LINES): string[] {
    return this.lines.slice(-count);
  }

  /**
   * SIGTERM (the watchdog passes it on, then SIGKILLs the child after its grace); SIGKILL to the whole process
   * group if the watchdog is still there a second later than that. Resolves once it has exited.
   */
  async stop(): Promise<ProcessExit> {
    if (this.running) {
      // Until it has exited, the stop keeps Xencode alive (an unref'd child would let a closing process end first).
      this.child.ref();
      this.signal('SIGTERM');
      const timer = setTimeout(() => this.signal('SIGKILL'), (this.graceSeconds + 1) * 1000);
      const info = await this.exited;
      clearTimeout(timer);
      return info;
    }
    return this.exited;
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      // The process group (negative pid) when the watchdog leads one: SIGKILL must take the child too.
      process.kill(process.platform === 'win32' ? pid : signal === 'SIGKILL' ? -pid : pid, signal);
    } catch {
      /* already gone */
    }
  }

  private collect(stream: Readable | null): void {
    if (!stream) return;
    stream.setEncoding('utf8');
    let partial = '';
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split(/\r?\n/);
      partial = parts.pop() ?? '';
      if (partial.length > MAX_LINE_CHARS) {
        parts.push(partial);
        partial = '';
      }
      for (const part of parts) this.keep(part);
    });
    stream.on('end', () => {
      if (partial) this.keep(partial);
      partial = '';
    });
    stream.on('error', () => undefined);
  }

  private keep(line: string): void {
    const cut = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
    if (cut.trim() === '') return;
    this.lines.push(cut);
    if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES);
    this.options.onLine?.(cut);
  }
}

/** The watchdog exits with 128 + N when signal N killed the child, as a shell reports it. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): ProcessExit {
  if (signal) return { code, signal, description: `was killed by ${signal}` };
  if (code !== null && code > 128 && code < 128 + 65) {
    const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] as NodeJS.Signals | undefined;
    if (name) return { code, signal: name, description: `was killed by ${name}` };
  }
  return { code, signal: null, description: `exited with code ${code ?? 'unknown'}` };
}
