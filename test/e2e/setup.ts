import { EDITOR_NAMES, ensureEditors } from './support/editors.js';

/**
 * Before any e2e test: every editor is fetched (once; later runs reuse .cache/debian/). A missing editor fails the
 * run here with the fetch script's message: in CI that is a failure, never a skip.
 */
export default function setup(): void {
  ensureEditors(EDITOR_NAMES);
}
