/**
 * The Ollama stand-in as a program, to try editors by hand and for editor end-to-end tests:
 *
 *   node dist/test/support/ollama-stub-cli.js --port 11434 --config test/support/stub-fixtures/fim-models.json
 *
 * Prints `listening on http://127.0.0.1:PORT` on stdout once it accepts connections; exits on SIGTERM/SIGINT.
 * The config is either an array of models or { models, pullable?, version?, pullStepMs? } (see StubModel).
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { describeRequest, OllamaStub, type OllamaStubOptions, type StubModel } from './ollama-stub.js';

export interface StubConfig {
  models?: StubModel[];
  pullable?: StubModel[];
  version?: string;
  pullStepMs?: number;
}

const USAGE = `usage: ollama-stub-cli [--port 11434] [--config models.json] [--log]
  --port     port on 127.0.0.1 (0: any free port; default 11434, Ollama's)
  --config   JSON: an array of models, or { models, pullable, version, pullStepMs }
  --log      one line per finished request on stderr`;

/** Accepts both config forms and checks just enough to fail with a clear message instead of a broken stub. */
export function parseConfig(json: unknown): StubConfig {
  const config: StubConfig = Array.isArray(json) ? { models: json as StubModel[] } : ((json ?? {}) as StubConfig);
  if (typeof config !== 'object') throw new Error('config must be an array of models or an object');
  for (const model of [...(config.models ?? []), ...(config.pullable ?? [])]) {
    if (!model || typeof model.name !== 'string' || model.name === '') throw new Error(`every model needs a name: ${JSON.stringify(model)}`);
  }
  return config;
}

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Starts the stub as the command line says and returns it (the caller stops it). Throws on bad arguments. */
export async function main(argv: string[], io: CliIo = process): Promise<OllamaStub> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '11434' },
      config: { type: 'string' },
      log: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    throw new CliExit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, not ${values.port}`);
  const config = values.config ? parseConfig(JSON.parse(await readFile(values.config, 'utf8'))) : {};
  const options: OllamaStubOptions = {
    ...config,
    port,
    ...(values.log ? { onRequestEnd: (r) => io.stderr.write(`${describeRequest(r)}\n`) } : {}),
  };
  const stub = new OllamaStub(options);
  const url = await stub.start();
  io.stdout.write(`listening on ${url}\n`);
  return stub;
}

/** --help: not an error, but nothing to run. */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

async function run(): Promise<void> {
  let stub: OllamaStub;
  try {
    stub = await main(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CliExit) process.exit(err.code);
    process.stderr.write(`ollama-stub: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  }
  const shutdown = () => {
    void stub.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

// Run only as a program: tests import main() without starting anything or installing signal handlers.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void run();
