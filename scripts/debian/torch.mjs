// PyTorch for the training tests as a package set of scripts/fetch-debian.mjs: Debian sid's python3 with torch,
// transformers, safetensors, gguf, numpy and accelerate, and a wrapper .cache/debian/bin/python3 that runs it through
// the unpacked glibc loader. The traps it handles are in docs/debian-fetch.md ("torch").
import { chmodSync, existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FetchError, log, run } from './util.mjs';

const PACKAGES = ['python3-torch', 'python3-transformers', 'python3-safetensors', 'python3-gguf', 'python3-numpy', 'python3-accelerate'];

/**
 * Packages of the closure that nothing here loads (ROCm/LLVM pulled in through libucx0, git and perl, systemd,
 * torchvision, torch's test dependencies): ~20 packages and a few hundred MB fewer. The library check of every
 * extension module and the first import prove the rest complete.
 */
const PRUNE = [
  'libllvm21', 'libamd-comgr3', 'libamdhip64-6', 'libclang-common-21-dev', 'libhsa-runtime64-1', 'libdrm-amdgpu1',
  'git', 'git-man', 'perl', 'perl-base', 'perl-modules-5.42', 'libperl5.42', 'liberror-perl', 'systemd',
  'libsystemd-shared', 'python3-torchvision', 'python3-hypothesis', 'python3-expecttest', 'libtorch-test', 'python3-networkx',
];

/** sys.executable of the wrapper (its --argv0); see prepare. */
const TRAMPOLINE = join('usr', 'bin', 'python3-xencode');
const SITE = join('usr', 'lib', 'python3', 'dist-packages');

/** What the first import loads (so its bytecode is written at fetch time), and what `--check` prints. */
const FIRST_IMPORT = [
  'import importlib.metadata, torch, transformers, safetensors, gguf, accelerate',
  'from transformers import LlamaConfig, LlamaForCausalLM, Qwen2ForCausalLM, AutoTokenizer, PreTrainedTokenizerFast',
  'import transformers.modeling_gguf_pytorch_utils, transformers.integrations.ggml, safetensors.torch',
  'print(f"torch {torch.__version__}, transformers {transformers.__version__}, gguf {importlib.metadata.version(\'gguf\')}")',
].join('\n');

function prepare(name, root, lay) {
  // Debian's python3 is a link to the default version's binary (python3.14).
  const python = join('usr', 'bin', readlinkSync(join(root, 'usr', 'bin', 'python3')));
  if (!existsSync(join(root, python))) throw new FetchError(`${name}: ${python} is missing`);
  for (const pkg of ['torch', 'transformers', 'safetensors', 'gguf', 'numpy', 'accelerate']) {
    if (!existsSync(join(root, SITE, pkg))) throw new FetchError(`${name}: ${SITE}/${pkg} is missing`);
  }
  // Python finds its prefix (stdlib, dist-packages) from sys.executable, and subprocess, multiprocessing and
  // compileall -j start sys.executable: the loader's --argv0 names this script in the root's usr/bin, which
  // re-enters through the wrapper (roots/<set>/usr/bin → .cache/debian/bin), so they run on the root's glibc too.
  writeFileSync(
    join(root, TRAMPOLINE),
    '#!/bin/sh\n# sys.executable of .cache/debian/bin/python3 (scripts/fetch-debian.mjs): back through that wrapper.\n' +
      'exec "$(dirname -- "$(readlink -f -- "$0")")/../../../../bin/python3" "$@"\n',
  );
  chmodSync(join(root, TRAMPOLINE), 0o755);
  // Debian strips gguf's RECORD/top_level.txt and gguf has no __version__: transformers then cannot map the module
  // to its distribution, reads version "N/A" and every from_pretrained(..., gguf_file=) fails with InvalidVersion.
  for (const d of readdirSync(join(root, SITE)).filter((f) => /^gguf-.*\.dist-info$/.test(f))) {
    const file = join(root, SITE, d, 'top_level.txt');
    if (!existsSync(file)) writeFileSync(file, 'gguf\n');
  }
  const lib = join('usr', 'lib', lay.triplet);
  const extensions = readdirSync(join(root, SITE), { recursive: true })
    .filter((f) => f.endsWith('.so'))
    .map((f) => join(SITE, f));
  return {
    loader: lay.loader,
    // No postinst ran: the libblas.so.3/liblapack.so.3 alternatives links do not exist, their folders do;
    // libgloo.so.0 lives in usr/lib, not in the triplet folder.
    libDirs: [...lay.libDirs, join(lib, 'blas'), join(lib, 'lapack'), join('usr', 'lib')],
    wrappers: [
      {
        name: 'python3',
        binary: python,
        argv0: TRAMPOLINE,
        // Debian ships no .pyc and this environment may set PYTHONDONTWRITEBYTECODE=1: without bytecode every
        // `import torch, transformers` takes ~7 s instead of ~2 s.
        unset: ['PYTHONDONTWRITEBYTECODE'],
        env: {
          // One torch thread unless asked otherwise: on a small shared machine 2 threads made training 16-40x slower.
          OMP_NUM_THREADS: '"${OMP_NUM_THREADS:-1}"',
          OMP_WAIT_POLICY: '"${OMP_WAIT_POLICY:-PASSIVE}"',
          // Offline: a model name that is not a folder fails at once instead of waiting for the Hugging Face hub.
          HF_HUB_OFFLINE: '"${HF_HUB_OFFLINE:-1}"',
        },
      },
    ],
    libraries: [python, ...extensions],
  };
}

/** The first import, in the unpacked root before it is swapped in: it writes the bytecode and proves the imports. */
async function warm(name, root, prepared) {
  const libPath = prepared.libDirs.map((d) => join(root, d)).join(':');
  const python = join(root, prepared.wrappers[0].binary);
  log(`${name}: first import (writes the bytecode)`);
  await run(join(root, prepared.loader), ['--argv0', python, '--library-path', libPath, python, '-c', FIRST_IMPORT], {
    env: { PYTHONDONTWRITEBYTECODE: undefined, OMP_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE', HF_HUB_OFFLINE: '1' },
    what: `${name}: the first import of torch, transformers, safetensors, gguf and accelerate`,
  });
}

export const TORCH_SETS = {
  torch: {
    pkg: 'python3-torch',
    install: PACKAGES,
    prune: PRUNE,
    version: /^2\./,
    sources: ['sid'],
    weight: 100, // ~200 packages, ~900 MB unpacked: first, so the smaller sets are fetched while it unpacks
    prepare,
    warm,
    check: [{ wrapper: 'python3', args: ['-c', FIRST_IMPORT] }],
  },
};
