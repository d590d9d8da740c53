import { format } from 'node:util';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** Where log lines go besides stderr (the LSP server forwards them as window/logMessage). */
export type LogSink = (level: LogLevel, message: string) => void;

/**
 * Logs to stderr, never stdout (stdout carries the LSP stream), and to an optional sink.
 * XENCODE_LOG=debug|info|warn|error sets the level (default info).
 */
export class StderrLogger implements Logger {
  private sink: LogSink | undefined;
  private readonly level: number;

  constructor(level: string | undefined = process.env.XENCODE_LOG) {
    this.level = RANK[(level as LogLevel) in RANK ? (level as LogLevel) : 'info'];
  }

  setSink(sink: LogSink | undefined): void {
    this.sink = sink;
  }

  error(message: string): void {
    this.write('error', message);
  }
  warn(message: string): void {
    this.write('warn', message);
  }
  info(message: string): void {
    this.write('info', message);
  }
  debug(message: string): void {
    this.write('debug', message);
  }

  private write(level: LogLevel, message: string): void {
    if (RANK[level] > this.level) return;
    process.stderr.write(`[xencode ${level}] ${message}\n`);
    this.sink?.(level, message);
  }
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * Libraries that print with console.log (ollama-js does on some HTTP errors) would corrupt the LSP stream on
 * stdout; route the console to stderr for the whole process.
 */
export function routeConsoleToStderr(): void {
  const toStderr = (...args: unknown[]) => void process.stderr.write(format(...args) + '\n');
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
}
