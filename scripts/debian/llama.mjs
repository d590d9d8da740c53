// llama.cpp (the inference engine the `llama` tests run) as a package set of scripts/fetch-debian.mjs: Debian sid's
// llama-server, the other llama-* tools and ggml-rpc-server, with sid's own C/C++ runtime. See docs/debian-fetch.md.
import { chmodSync, copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FetchError } from './util.mjs';

/**
 * Exactly these packages are unpacked (resolved together in sid, so their versions fit each other), not their
 * whole dependency closure: that one also brings wget, gnutls, debconf, … which nothing here loads. The library
 * check after unpacking proves the list complete.
 */
const PACKAGES = [
  'llama.cpp-tools',
  'llama.cpp-examples',
  'llama.cpp-tools-extra',
  'libllama0',
  'libggml0',
  'libggml0-backend-rpc',
  'libc6',
  'libgcc-s1',
  'libstdc++6',
  'libgomp1',
  'libssl3t64',
  'libzstd1',
  'zlib1g',
];

function prepare(name, root, lay) {
  const lib = join('usr', 'lib', lay.triplet);
  const backends = join(lib, 'ggml', 'backends0');
  const plugins = existsSync(join(root, backends)) ? readdirSync(join(root, backends)).filter((f) => /^libggml-.*\.so$/.test(f)) : [];
  if (!plugins.some((f) => f.startsWith('libggml-cpu'))) {
    throw new FetchError(`${name}: no CPU backend plugin (libggml-cpu-*.so) in ${backends}`);
  }
  // ggml looks for its backend plugins in the compiled-in /usr/lib/<triplet>/ggml/backends0 and in the folder of
  // /proc/self/exe, which is the loader when the loader is run directly: started from a copy of the loader in the
  // root's backends0, it finds them there (else "no backends are loaded").
  const loader = join(backends, 'ld.so');
  copyFileSync(join(root, lay.loader), join(root, loader));
  chmodSync(join(root, loader), 0o755);
  const isProgram = (rel) => statSync(join(root, rel)).isFile();
  const tools = readdirSync(join(root, 'usr', 'bin'))
    .filter((f) => f.startsWith('llama-'))
    .map((f) => join('usr', 'bin', f))
    .filter(isProgram);
  const rpcServer = join('usr', 'libexec', lay.triplet, 'llama', 'bin', 'ggml-rpc-server');
  if (!tools.includes(join('usr', 'bin', 'llama-server'))) throw new FetchError(`${name}: usr/bin/llama-server is missing`);
  if (!existsSync(join(root, rpcServer))) throw new FetchError(`${name}: ${rpcServer} is missing`);
  const server = join('usr', 'bin', 'llama-server');
  const ordered = [server, rpcServer, ...tools.filter((t) => t !== server)]; // the stamp names the first
  const wrappers = ordered.map((binary) => ({ name: binary.split('/').pop(), binary, env: {} }));
  return {
    loader,
    // The binaries' RUNPATH names the system's /usr/lib/<triplet>/llama (the tools' -impl libraries): the root's.
    libDirs: [...lay.libDirs, join(lib, 'llama')],
    wrappers,
    libraries: [...tools, rpcServer, ...plugins.map((f) => join(backends, f))],
  };
}

export const LLAMA_SETS = {
  'llama.cpp': {
    pkg: 'llama.cpp-tools',
    install: PACKAGES,
    only: PACKAGES,
    version: /^1:\d+\./, // epoch 1: upstream's own version numbers (0.7.0, …)
    sources: ['sid'],
    prepare,
    check: [
      { wrapper: 'llama-server', args: ['--version'] },
      // It loads the ggml backend plugins first: the line proves the loader copy in backends0 finds them.
      { wrapper: 'ggml-rpc-server', args: ['--help'], show: /loaded CPU backend/ },
    ],
  },
};
