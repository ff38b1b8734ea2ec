/**
 * An HTTP proxy in front of S3 that fails requests the way a busy S3 does:
 * it refuses a share of them with 503 SlowDown (the request never reaches
 * S3), and cuts another share after S3 answered (S3 applied the request, the
 * client sees a broken connection — with no bytes of the answer, or half of
 * them). Decisions come from a seeded generator, in the order requests arrive.
 * Headers go through untouched, so S3's signature check still passes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Random } from './prng.js';

export type S3Fault = 'refuse' | 'cut-before-answer' | 'cut-mid-answer';

export interface S3FaultRates {
  /** Share of requests refused with 503 SlowDown. */
  refuse: number;
  /** Share of requests forwarded, then cut. */
  cut: number;
}

export interface S3FaultStats {
  requests: number;
  refused: number;
  cut: number;
  /** Requests by method, for the report. */
  byMethod: Record<string, number>;
}

export interface S3FaultProxy {
  endpoint: string;
  stats: S3FaultStats;
  /** Turns faults on or off (off: a plain proxy). */
  setEnabled(enabled: boolean): void;
  close(): Promise<void>;
}

/** The fault for the next request, if any: pure, from one draw of the generator. */
export function decideFault(random: Random, rates: S3FaultRates): S3Fault | undefined {
  const draw = random.next();
  if (draw < rates.refuse) return 'refuse';
  if (draw < rates.refuse + rates.cut) return random.chance(0.5) ? 'cut-before-answer' : 'cut-mid-answer';
  return undefined;
}

const SLOW_DOWN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>chaos</RequestId></Error>';

export async function startS3FaultProxy(options: { target: { host: string; port: number }; random: Random; rates: S3FaultRates }): Promise<S3FaultProxy> {
  const stats: S3FaultStats = { requests: 0, refused: 0, cut: 0, byMethod: {} };
  let enabled = true;
  const sockets = new Set<import('node:net').Socket>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.byMethod[req.method ?? '?'] = (stats.byMethod[req.method ?? '?'] ?? 0) + 1;
    const fault = enabled ? decideFault(options.random, options.rates) : undefined;
    if (fault === 'refuse') {
      stats.refused++;
      // Read the body first, so the client gets the answer instead of a reset while it still sends.
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(SLOW_DOWN), 'retry-after': '1' });
        res.end(SLOW_DOWN);
      });
      return;
    }
    const upstream = http.request(
      { host: options.target.host, port: options.target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        if (fault === undefined) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        // S3 has applied the request; the client must not learn how it went.
        stats.cut++;
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          // An empty answer cannot be cut in the middle: its headers alone would read as complete.
          if (fault === 'cut-mid-answer' && body.length > 1) {
            res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': String(body.length) });
            res.write(body.subarray(0, Math.floor(body.length / 2)));
            // Let the partial answer leave before the connection breaks.
            setImmediate(() => req.socket.destroy());
          } else {
            req.socket.destroy();
          }
        });
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setEnabled: (value) => {
      enabled = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
