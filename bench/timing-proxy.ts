/**
 * A pass-through HTTP proxy in front of a model server that times each generation request from its arrival to the
 * last byte of its answer: the model's own time as the client sees it, its server's HTTP included. It runs in a
 * worker thread, so that its event loop is not the benchmark's (the editor's side of the JSON-RPC runs there); the
 * times land in shared memory, written before the answer's last byte leaves, so they are there when the completion
 * that made the request returns.
 */
import { Worker } from 'node:worker_threads';

const CAPACITY = 100_000;

const WORKER = `
const { createServer, request } = require('node:http');
const { workerData, parentPort } = require('node:worker_threads');
const { target, times, counts } = workerData;
const url = new URL(target);
const GENERATION = /\\/(infill|completions?|api\\/generate|api\\/chat)$/;
const server = createServer((req, res) => {
  const started = performance.now();
  const upstream = request({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.on('end', () => {
      if (GENERATION.test(req.url ?? '')) {
        const i = Atomics.load(counts, 0);
        if (i < times.length) times[i] = performance.now() - started;
        Atomics.store(counts, 0, i + 1);
      } else Atomics.add(counts, 1, 1);
    });
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  // The client closing its request (a cancel) closes the upstream one, as llama-server expects.
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

export class TimingProxy {
  private readonly timesBuffer = new Float64Array(new SharedArrayBuffer(CAPACITY * 8));
  /** [generation requests timed, other requests] */
  private readonly counts = new Int32Array(new SharedArrayBuffer(8));
  private worker: Worker | undefined;

  constructor(private readonly target: string) {}

  /** Starts the proxy; resolves with its root URL. */
  async start(): Promise<string> {
    this.worker = new Worker(WORKER, { eval: true, workerData: { target: this.target, times: this.timesBuffer, counts: this.counts } });
    const port = await new Promise<number>((resolve, reject) => {
      this.worker!.once('message', resolve);
      this.worker!.once('error', reject);
    });
    return `http://127.0.0.1:${port}`;
  }

  /** Generation requests timed so far (ms each, in order). */
  get times(): number[] {
    return Array.from(this.timesBuffer.subarray(0, Math.min(CAPACITY, Atomics.load(this.counts, 0))));
  }

  /** Requests besides generation (/props, /tokenize, /api/show…): the client's own cost. */
  get others(): number {
    return Atomics.load(this.counts, 1);
  }

  async stop(): Promise<void> {
    if (!this.worker) return;
    const exited = new Promise((resolve) => this.worker!.once('exit', resolve));
    this.worker.postMessage('stop');
    await exited;
  }
}
