#!/usr/bin/env node
// First: bounds V8's young generation before the other modules allocate.
import './heap-tuning.js';
import { Command } from 'commander';
import { StderrLogger, routeConsoleToStderr } from './log.js';
import { PACKAGE_VERSION } from './paths.js';
import { registerAdapterCommand } from './cli/adapter-command.js';
import { registerDatasetCommand } from './cli/dataset-command.js';
import { registerFeedbackCommand } from './cli/feedback-command.js';
import { registerTrainCommand } from './cli/train-command.js';

const program = new Command();

program
  .name('xencode')
  .description('Offline AI coding assistant: a language server answering from local models (Ollama, llama.cpp, OpenAI-compatible servers), and the tools that train and serve them.')
  .version(PACKAGE_VERSION, '-v, --version')
  .option('--stdio', 'serve the Language Server Protocol on stdin/stdout (what editors run)')
  .option('--no-warmup', 'do not load the models at start-up')
  .option('--log-level <level>', 'error | warn | info | debug (also XENCODE_LOG)')
  .addHelpText(
    'after',
    `
Editors start it as:  xencode --stdio
Settings come from the editor (initializationOptions.xencode or workspace/configuration "xencode");
OLLAMA_HOST sets the default Ollama server. Logs go to stderr, never stdout.`,
  )
  .action(async (options: { stdio?: boolean; warmup: boolean; logLevel?: string }) => {
    if (!options.stdio) {
      program.outputHelp({ error: true });
      process.stderr.write('\nxencode: nothing to do; editors run `xencode --stdio`.\n');
      process.exitCode = 1;
      return;
    }
    // --no-warmup turns it off; otherwise XENCODE_NO_WARMUP=1 does (commander always sets `warmup`, so the
    // environment is read here, not left to a default that would never apply).
    await serveStdio(options.warmup && process.env.XENCODE_NO_WARMUP !== '1', options.logLevel);
  });

async function serveStdio(warmup: boolean, logLevel: string | undefined): Promise<void> {
  routeConsoleToStderr();
  const logger = new StderrLogger(logLevel ?? process.env.XENCODE_LOG);
  // A bug in one request must not take the editor's server down; it is logged and the server serves on.
  process.on('uncaughtException', (err) => logger.error(`uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`));
  const { createConnection, StreamMessageWriter } = await import('vscode-languageserver/node');
  const { startServer } = await import('./lsp/server.js');
  const { FramingError, StrictMessageReader } = await import('./lsp/frame-reader.js');
  const reader = new StrictMessageReader(process.stdin, { onBadBody: (problem) => logger.warn(`the editor sent ${problem}`) });
  const connection = createConnection(reader, new StreamMessageWriter(process.stdout));
  const server = startServer(connection, { logger, warmup });
  // A stream whose frames cannot be told apart any more would leave the editor with a server that never answers:
  // say what arrived, keep what is stored, and exit non-zero so the editor reports it (and may restart it).
  reader.onError((err) => {
    if (!(err instanceof FramingError)) return;
    process.stderr.write(`xencode: the editor sent malformed LSP framing (${err.problem}); received ${err.received}. `
      + 'Exiting so the editor can restart the server; a client that counts characters instead of UTF-8 bytes in '
      + 'Content-Length causes this on non-ASCII text.\n');
    const exit = () => process.exit(1);
    setTimeout(exit, 1000).unref();
    void server.close().finally(exit);
  });
  connection.listen();
}

registerFeedbackCommand(program);
registerAdapterCommand(program);
registerTrainCommand(program);
registerDatasetCommand(program);

await program.parseAsync(process.argv);
