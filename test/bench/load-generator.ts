/**
 * The load generator of the out-of-process benchmarks, run as its own
 * process. Argument: a LoadSpec as JSON (test/bench/processes.ts); prints
 * JSON { perSecond, p50Ms, p99Ms, errors, non2xx }.
 *
 * Closed loop (default): autocannon against one base URL (HTTP or HTTPS),
 * cycling through GET paths on every connection, or sending one POST body;
 * each connection sends its next request when the previous one is answered,
 * so it measures throughput at saturation. Its latencies are whole
 * milliseconds, and its own rate option sends each second's quota in a burst
 * at the start of the second (still saturation, for part of each second), so
 * latency at a given load is measured by the open loop below.
 *
 * Open loop (`rate` set): requests are issued at a fixed rate, one every
 * 1/rate s, over at most `connections` keep-alive connections; each is timed
 * from when it was issued, not from when a connection became free, so a
 * server that falls behind is charged for the queue it causes (no
 * coordinated omission). Not from when it was due either: on a shared
 * machine the generator's own timer runs late at times, and that lateness is
 * not the server's. Latencies to 10 µs.
 */
import autocannon from 'autocannon';
import net from 'node:net';
import tls from 'node:tls';
import type { LoadResult, LoadSpec } from './processes.js';

/** The open loop's timer period: requests due within a tick are issued together. */
const TICK_MS = 1;

/**
 * One keep-alive connection of the open loop, one request at a time, each
 * written in one piece (as autocannon does; the Node HTTP client costs the
 * generator several times more per request, which on a shared machine shows
 * up in the latencies). Answers are read far enough to find their end
 * (Content-Length) and status.
 */
class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly socket: net.Socket;
  busy = false;
  private onAnswer: ((status: number) => void) | undefined;
  constructor(url: URL) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    this.socket = url.protocol === 'https:' ? tls.connect({ host: url.hostname, port, rejectUnauthorized: false }) : net.connect({ host: url.hostname, port });
    this.socket.setNoDelay(true);
    // A broken connection answers its request with status 0 (an error) and takes no more.
    this.socket.on('error', () => {
      this.busy = true;
      const onAnswer = this.onAnswer;
      this.onAnswer = undefined;
      onAnswer?.(0);
    });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
  }
  send(request: Buffer, onAnswer: (status: number) => void): void {
    this.busy = true;
    this.onAnswer = onAnswer;
    this.socket.write(request);
  }
  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headerEnd = this.buffered.indexOf('\r\n\r\n');
    if (headerEnd < 0) return;
    const head = this.buffered.subarray(0, headerEnd).toString('latin1');
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffered.length < headerEnd + 4 + length) return;
    this.buffered = this.buffered.subarray(headerEnd + 4 + length);
    this.busy = false;
    const onAnswer = this.onAnswer!;
    this.onAnswer = undefined;
    onAnswer(Number(head.slice(9, 12)));
  }
  close(): void {
    this.socket.destroy();
  }
}

async function openLoop(spec: LoadSpec & { rate: number }): Promise<LoadResult> {
  const url = new URL(spec.url);
  const host = url.host;
  const requests = spec.post
    ? [Buffer.concat([Buffer.from(`POST ${spec.post.path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: ${spec.post.contentType}\r\ncontent-length: ${Buffer.byteLength(spec.post.body)}\r\n\r\n`), Buffer.from(spec.post.body)])]
    : (spec.paths ?? ['/']).map((path) => Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`));
  const total = spec.amount ?? Math.round(spec.rate * spec.seconds);
  // Bounds: one latency per request, `total` at most; the queue holds issued requests no connection is free for, `total` at most.
  const latencies = new Float64Array(total);
  const waiting: Array<{ index: number; issuedAt: number }> = [];
  let errors = 0;
  let non2xx = 0;
  let done = 0;
  let sent = 0;
  let finished: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const connections = Array.from({ length: spec.connections }, () => new Connection(url));
  const start = (connection: Connection, index: number, issuedAt: number): void => {
    connection.send(requests[index % requests.length]!, (status) => {
      latencies[index] = performance.now() - issuedAt;
      if (status === 0) errors++;
      else if (status < 200 || status >= 300) non2xx++;
      const next = waiting.shift();
      if (next) start(connection, next.index, next.issuedAt);
      if (++done === total) finished();
    });
  };
  const started = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - started) / 1000) * spec.rate) + 1);
    for (; sent < due; sent++) {
      const idle = connections.find((c) => !c.busy);
      if (idle) start(idle, sent, now);
      else waiting.push({ index: sent, issuedAt: now });
    }
    if (sent === total) clearInterval(timer);
  }, TICK_MS);
  // A server that stops answering: what is unanswered by then counts as errors.
  const deadline = setTimeout(finished, (spec.seconds * 3 + 10) * 1000);
  await allDone;
  clearTimeout(deadline);
  clearInterval(timer);
  errors += total - done;
  const elapsedSeconds = (performance.now() - started) / 1000;
  for (const connection of connections) connection.close();
  const sorted = latencies.sort();
  const at = (q: number): number => Number(sorted[Math.min(total - 1, Math.floor(q * total))]!.toFixed(2));
  return { perSecond: Math.round(total / elapsedSeconds), p50Ms: at(0.5), p99Ms: at(0.99), errors, non2xx };
}

async function closedLoop(spec: LoadSpec): Promise<LoadResult> {
  const requests = spec.post
    ? [{ method: 'POST' as const, path: spec.post.path, body: spec.post.body, headers: { 'content-type': spec.post.contentType } }]
    : (spec.paths ?? ['/']).map((path) => ({ method: 'GET' as const, path }));
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds }),
    requests,
  });
  return {
    // Per second over the whole run (autocannon's average is per whole second sampled, which a short `amount` run skews).
    perSecond: Math.round(result.requests.total / Math.max(result.duration, 0.001)),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const result = spec.rate !== undefined ? await openLoop({ ...spec, rate: spec.rate }) : await closedLoop(spec);
process.stdout.write(JSON.stringify(result));
