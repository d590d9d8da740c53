/**
 * Where the llama-server executable is: llamaCpp.serverPath, else `llama-server` on PATH. When there is none, a
 * doctor-style message: what is missing and the ways to install it.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export const LLAMA_SERVER_NAME = 'llama-server';

export type LlamaServerBinary = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly problem: string };

/** How to get llama-server, for messages. */
export const INSTALL_HINT =
  'Install llama.cpp: on Debian/Ubuntu the package llama.cpp-tools (Debian sid and later: apt install llama.cpp-tools), ' +
  'on macOS or Linux with Homebrew: brew install llama.cpp, or a release binary from https://github.com/ggml-org/llama.cpp/releases. ' +
  'Then put llama-server on PATH or set xencode.llamaCpp.serverPath to it.';

/**
 * The executable to start: `serverPath` when given (it must be an executable file; no fallback to PATH, which
 * would hide a typo), else the first `llama-server` on `env.PATH`.
 */
export async function findLlamaServer(serverPath: string | undefined, env: NodeJS.ProcessEnv): Promise<LlamaServerBinary> {
  if (serverPath !== undefined && serverPath !== '') {
    const problem = await executableProblem(serverPath);
    if (problem === undefined) return { ok: true, path: serverPath };
    return { ok: false, problem: `xencode.llamaCpp.serverPath is ${serverPath}, which ${problem}. Fix the setting, or remove it to use llama-server from PATH. ${INSTALL_HINT}` };
  }
  for (const candidate of pathCandidates(env)) {
    if ((await executableProblem(candidate)) === undefined) return { ok: true, path: candidate };
  }
  return { ok: false, problem: `llama-server was not found on PATH and xencode.llamaCpp.serverPath is not set. ${INSTALL_HINT}` };
}

/** Every place `llama-server` could be on PATH, in order (with Windows' executable extensions there). */
function pathCandidates(env: NodeJS.ProcessEnv): string[] {
  const path = env.PATH ?? env.Path ?? '';
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').filter(Boolean) : [''];
  return path
    .split(delimiter)
    .filter((dir) => dir !== '')
    .flatMap((dir) => extensions.map((ext) => join(dir, LLAMA_SERVER_NAME + ext)));
}

/** Why `file` cannot be run, in words that follow "which …"; undefined when it can. */
async function executableProblem(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) return 'is a directory';
    if (!info.isFile()) return 'is not a file';
  } catch {
    return 'does not exist';
  }
  try {
    await access(file, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return undefined;
  } catch {
    return 'is not executable (chmod +x it)';
  }
}
