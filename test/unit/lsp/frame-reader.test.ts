import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FramingError, StrictMessageReader } from '../../../server/lsp/frame-reader.js';

function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

function reader() {
  const input = new PassThrough();
  const received: unknown[] = [];
  const errors: Error[] = [];
  const bad: string[] = [];
  const r = new StrictMessageReader(input, { onBadBody: (p) => bad.push(p) });
  r.onError((e) => errors.push(e));
  r.listen((m) => received.push(m));
  return { input, received, errors, bad };
}

describe('StrictMessageReader', () => {
  it('delivers every message whole and in order, however the bytes are split (multi-byte characters too)', () => {
    const messages = Array.from({ length: 40 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'm', params: { text: `é😀✓ ${'x'.repeat(i * 37)}` } }));
    const bytes = Buffer.concat(messages.map(frame));
    for (const seed of [1, 2, 3]) {
      const random = rng(seed);
      const { input, received, errors } = reader();
      for (let at = 0; at < bytes.length;) {
        const size = 1 + Math.floor(random() * 300);
        input.write(bytes.subarray(at, at + size));
        at += size;
      }
      expect(errors).toEqual([]);
      expect(received).toEqual(messages);
    }
  });

  it('reads a large body arriving in many chunks', () => {
    const big = { jsonrpc: '2.0', method: 'textDocument/didOpen', params: { text: 'a'.repeat(5_000_000) } };
    const bytes = frame(big);
    const { input, received } = reader();
    for (let at = 0; at < bytes.length; at += 65536) input.write(bytes.subarray(at, at + 65536));
    expect(received).toHaveLength(1);
    expect((received[0] as typeof big).params.text.length).toBe(5_000_000);
  });

  it('stops at the first framing fault with a FramingError naming it, and delivers nothing after it', () => {
    const { input, received, errors } = reader();
    input.write(frame({ jsonrpc: '2.0', method: 'a' }));
    input.write('Content-Length: 1x\r\n\r\n{}');
    input.write(frame({ jsonrpc: '2.0', method: 'b' }));
    expect(received).toEqual([{ jsonrpc: '2.0', method: 'a' }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(FramingError);
    expect((errors[0] as FramingError).problem).toContain('not a byte count: "1x"');
  });

  it('refuses a body over the limit before reading it, and unknown headers and charsets', () => {
    for (const header of ['Content-Length: 99999999999', 'Content-Length: 600000000', 'X-Thing: 1\r\nContent-Length: 2', 'Content-Length: 2\r\nContent-Type: application/json; charset=latin1']) {
      const { input, errors } = reader();
      input.write(`${header}\r\n\r\n{}`);
      expect(errors, header).toHaveLength(1);
    }
  });

  it('drops a body that is framed right but is not a JSON object, and reads on', () => {
    const { input, received, errors, bad } = reader();
    input.write('Content-Length: 5\r\n\r\n{oops');
    input.write('Content-Length: 2\r\n\r\n42');
    input.write(frame({ jsonrpc: '2.0', method: 'after' }));
    expect(errors).toEqual([]);
    expect(bad).toHaveLength(2);
    expect(received).toEqual([{ jsonrpc: '2.0', method: 'after' }]);
  });
});
