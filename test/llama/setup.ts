// The llama project's global set-up: llama.cpp from Debian (scripts/fetch-debian.mjs, into .cache/debian/) and the
// tiny models, once before any test file runs, so that no test's own time pays for a cold fetch. A missing engine
// fails the run (never a skip): CI has to run these tests.
import { llamaTools, tinyModel } from '../support/llama.js';

export default function setup(): void {
  llamaTools();
  tinyModel(1);
  tinyModel(2);
  tinyModel(3, { textOnly: true });
}
