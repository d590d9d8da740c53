// The training project's global set-up: PyTorch (scripts/fetch-debian.mjs --only torch, into .cache/debian/),
// llama.cpp and the tiny GGUF models, once before any test file runs, so that no test's own time pays for a cold
// fetch. A missing PyTorch fails the run (never a skip): CI has to run these tests.
import { llamaTools, tinyModel } from '../support/llama.js';
import { pythonTools } from '../support/python.js';

export default function setup(): void {
  pythonTools();
  llamaTools();
  tinyModel(1);
}
