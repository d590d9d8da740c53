import { resolve } from 'node:path';
import type { Command } from 'commander';

/**
 * `xencode adapter import --base MODEL --adapter DIR|FILE.gguf --name NAME`: serves a LoRA adapter beside its base.
 * Ollama: uploads the adapter and creates NAME from the base, then prints the settings entry that adds NAME to the
 * ensemble. llama.cpp (`--provider llama.cpp`, or a --base that is a .gguf file): prints the llama-server arguments
 * and settings; no user file is edited. Exit code 0 only when the adapter can be served (Ollama: it created NAME).
 */
export function registerAdapterCommand(program: Command): void {
  const adapter = program.command('adapter').description('LoRA adapters: serve one beside its base model');
  adapter
    .command('import')
    .description('create a model from a base and a LoRA adapter (Ollama), or print how llama-server serves it')
    .requiredOption('--base <model>', 'the base model: an Ollama name (qwen2.5-coder:1.5b-base), or a .gguf file for llama.cpp')
    .requiredOption('--adapter <path>', 'the adapter: a GGUF LoRA file, or the folder `xencode train` wrote (its adapter.gguf)')
    .requiredOption('--name <name>', 'the name of the adapted model')
    .option('--provider <provider>', 'ollama | llama.cpp (default: llama.cpp when --base is a .gguf file, else ollama)')
    .option('--host <url>', 'the Ollama server (default: OLLAMA_HOST, else http://127.0.0.1:11434)')
    .option('--json', 'the result as one JSON object on stdout')
    .action(async (options: ImportOptions) => {
      try {
        await importAdapter(options);
      } catch (err) {
        fail((err as Error).message);
      }
    });

  adapter
    .command('convert')
    .description('write adapter.gguf (what llama.cpp and Ollama load) from a PEFT adapter folder, e.g. one trained on another machine')
    .requiredOption('--base <model>', 'the model it adapts: a .gguf file, a Hugging Face folder, or an Ollama model name')
    .requiredOption('--adapter <dir>', 'the folder with adapter_model.safetensors and adapter_config.json')
    .option('--out <file>', 'where to write it (default: DIR/adapter.gguf)')
    .action(async (options: { base: string; adapter: string; out?: string }) => {
      try {
        const { resolveBase, baseArchitecture } = await import('../training/base-model.js');
        const { convertPeftDir } = await import('../training/gguf-adapter.js');
        const { defaultHost } = await import('../config.js');
        const base = await resolveBase(options.base, { ollamaHost: defaultHost() });
        if (!base.ok) return fail(base.problem);
        const written = await convertPeftDir(resolve(options.adapter), await baseArchitecture(base.base), options.out && resolve(options.out));
        process.stdout.write(`${written}\n`);
      } catch (err) {
        fail((err as Error).message);
      }
    });
}

interface ImportOptions {
  readonly base: string;
  readonly adapter: string;
  readonly name: string;
  readonly provider?: string;
  readonly host?: string;
  readonly json?: boolean;
}

// The modules load only when the command runs: `xencode --stdio` must start fast.
async function importAdapter(options: ImportOptions): Promise<void> {
  const provider = options.provider ?? (/\.gguf$/i.test(options.base) ? 'llama.cpp' : 'ollama');
  if (provider !== 'ollama' && provider !== 'llama.cpp') return fail(`--provider must be ollama or llama.cpp (got ${provider})`);
  const { checkAdapterFile } = await import('../training/adapter-file.js');
  const checked = await checkAdapterFile(resolve(options.adapter));
  if (!checked.ok) return fail(checked.problem);
  const adapter = checked.adapter;
  if (provider === 'llama.cpp') return llamaCpp(options, adapter.path, adapter.architecture);

  const { defaultHost, normalizeHost } = await import('../config.js');
  let host: string;
  try {
    host = options.host ? normalizeHost(options.host) : defaultHost();
  } catch {
    return fail(`--host: not a host: ${options.host} (e.g. http://127.0.0.1:11434)`);
  }
  const { ImportError, importToOllama } = await import('../training/ollama-import.js');
  try {
    const result = await importToOllama({ host, base: options.base, name: options.name, adapter, progress: (line) => process.stderr.write(`xencode: ${line}\n`) });
    const entry = host === defaultHost() ? options.name : { name: options.name, host };
    const settings = { models: [options.base, entry] };
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ provider, name: options.name, base: options.base, adapter: adapter.path, host, ...result, settings }, null, 2)}\n`);
    } else {
      process.stderr.write(`xencode: created ${options.name} on ${host} from ${options.base} with ${adapter.path}\n`);
      process.stdout.write(`Add it to the ensemble beside its base in your editor's xencode settings (keep your other models):\n  "models": ${JSON.stringify(settings.models)}\n`);
    }
  } catch (err) {
    if (err instanceof ImportError) return fail(err.message);
    throw err;
  }
}

/** llama.cpp: nothing to create; checks the base file when given one, prints the arguments and settings. */
async function llamaCpp(options: ImportOptions, adapterPath: string, architecture: string | undefined): Promise<void> {
  const isFile = /\.gguf$/i.test(options.base);
  const basePath = isFile ? resolve(options.base) : undefined;
  if (basePath) {
    const { baseModelInfo } = await import('../training/gguf-adapter.js');
    const info = await baseModelInfo(basePath);
    if (architecture && info.architecture !== architecture) {
      return fail(`${adapterPath} adapts a ${architecture} model, but ${basePath} is ${info.architecture}: pass the base model the adapter was trained on as --base.`);
    }
  }
  const model = basePath ?? 'BASE.gguf';
  const running = { name: options.name, provider: 'llama.cpp', host: 'http://127.0.0.1:8080' };
  const managed = basePath ? { models: [{ name: options.name, gguf: basePath }], llamaCpp: { args: ['--lora', adapterPath] } } : undefined;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ provider: 'llama.cpp', name: options.name, base: options.base, adapter: adapterPath, llamaServerArgs: ['-m', model, '--lora', adapterPath], settings: { running: { models: [running] }, ...(managed ? { managed } : {}) } }, null, 2)}\n`);
    return;
  }
  const lines = [
    'A llama-server you run: start it with the adapter',
    `  llama-server -m ${model} --lora ${adapterPath}`,
    '  (requests may set "lora": [{"id": 0, "scale": 0}] to get the base model from the same server)',
    'and add it to the ensemble in your editor\'s xencode settings (its host and port):',
    `  "models": [${JSON.stringify(running)}]`,
  ];
  if (managed) {
    lines.push(
      'Or a llama-server Xencode runs itself:',
      `  "models": ${JSON.stringify(managed.models)}, "llamaCpp": ${JSON.stringify(managed.llamaCpp)}`,
      '  (llamaCpp.args go to every llama-server Xencode runs: keep the base model on Ollama or a server of your own)',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function fail(message: string): void {
  process.stderr.write(`xencode: ${message}\n`);
  process.exitCode = 1;
}
