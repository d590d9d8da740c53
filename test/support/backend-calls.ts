// Helpers for tests that call backends directly: the BackendError a call failed with, and a fetch that aborts the
// caller as soon as an answer starts to stream (the server is mid-generation then).
import { expect } from 'vitest';
import { BackendError } from '../../server/models/backend.js';

/** The BackendError `promise` rejects with (the test fails if it resolves or rejects with something else). */
export async function failure(promise: Promise<unknown>): Promise<BackendError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackendError);
  return error as BackendError;
}

/** A fetch that aborts `controller` when the first bytes of a response to a URL ending in `path` arrive. */
export function abortOnFirstBytes(controller: AbortController, path: string): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body || !String(input).endsWith(path)) return res;
    const watched = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          out.enqueue(chunk);
          controller.abort();
        },
      }),
    );
    return new Response(watched, { status: res.status, headers: res.headers });
  };
}
