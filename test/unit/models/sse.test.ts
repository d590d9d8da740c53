import { describe, expect, it } from 'vitest';
import { EventStreamError, readEvents, readJsonEvents } from '../../../server/models/sse.js';
import { seededRandom } from '../../../server/text/seeded-random.js';

/** The bytes split at the given offsets. */
function chunked(bytes: Uint8Array, cuts: readonly number[]): AsyncIterable<Uint8Array> {
  const sorted = [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  return (async function* () {
    let start = 0;
    for (const cut of [...sorted, bytes.length]) {
      yield bytes.slice(start, cut);
      start = cut;
    }
  })();
}


async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const payloads = [{ content: 'héllo 🙂', stop: false }, { content: 'line\nbreak', n: 2 }, { content: '', stop: true }];

/** The payloads written the way servers write them, with every kind of line end, comments and a multi-line event. */
function stream(lineEnd: string): Uint8Array {
  const text =
    `: a comment${lineEnd}` +
    payloads.map((p) => `data: ${JSON.stringify(p)}${lineEnd}${lineEnd}`).join('') +
    `event: message${lineEnd}data: {"multi":${lineEnd}data: "line"}${lineEnd}${lineEnd}` +
    `data:[DONE]${lineEnd}${lineEnd}data: {"after":"done"}${lineEnd}${lineEnd}`;
  return new TextEncoder().encode(text);
}

describe('readJsonEvents', () => {
  for (const [name, lineEnd] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    it(`gives the same payloads however ${name} streams are split (seeds 1..200)`, async () => {
      const bytes = stream(lineEnd);
      const expected = [...payloads, { multi: 'line' }];
      for (let seed = 1; seed <= 200; seed++) {
        const next = seededRandom(seed);
        const cuts = Array.from({ length: Math.floor(next() * 40) }, () => Math.floor(next() * bytes.length));
        expect(await collect(readJsonEvents(chunked(bytes, cuts))), `seed ${seed}`).toEqual(expected);
      }
    });
  }

  it('splits a stream byte by byte too, multi-byte characters included', async () => {
    const bytes = stream('\r\n');
    const cuts = Array.from({ length: bytes.length }, (_, i) => i);
    expect(await collect(readJsonEvents(chunked(bytes, cuts)))).toEqual([...payloads, { multi: 'line' }]);
  });

  it('ends the last event at the end of the stream, without a blank line (llama-server /completion)', async () => {
    const bytes = new TextEncoder().encode('data: {"a":1}\n\ndata: {"b":2}');
    expect(await collect(readJsonEvents(chunked(bytes, [3])))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it("throws llama-server's error: event with its message", async () => {
    const bytes = new TextEncoder().encode('data: {"a":1}\n\nerror: {"error":{"code":500,"message":"the model crashed"}}\n\n');
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const payload of readJsonEvents(chunked(bytes, [5, 20]))) seen.push(payload);
    })().catch((e: unknown) => e);
    expect(seen).toEqual([{ a: 1 }]);
    expect(error).toBeInstanceOf(EventStreamError);
    expect((error as Error).message).toBe('the model crashed');
  });

  it('throws an OpenAI-style error object sent as data, and data that is not JSON', async () => {
    const openai = new TextEncoder().encode('data: {"error":{"message":"context too long","type":"invalid_request_error"}}\n\n');
    await expect(collect(readJsonEvents(chunked(openai, [])))).rejects.toThrow('context too long');
    const garbage = new TextEncoder().encode('data: {"a":\n\n');
    await expect(collect(readJsonEvents(chunked(garbage, [])))).rejects.toThrow(/not JSON/);
  });
});

describe('readEvents', () => {
  it('reads fields without a space after the colon, ignores unknown fields and empty events', async () => {
    const bytes = new TextEncoder().encode('id: 1\nretry: 10\n\ndata:x\ndata\n\n');
    expect(await collect(readEvents(chunked(bytes, [])))).toEqual([{ data: 'x\n' }]);
  });
});
