/**
 * Probes and metrics for a process's parts: /healthz (alive), /readyz (every
 * part ready, and not shutting down), /metrics (Prometheus text).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

export function startOpsServer(options: { host: string; port: number; metrics: Registry; ready: () => boolean }): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain'): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') send(200, 'ok');
    else if (path === '/readyz') (options.ready() ? send(200, 'ready') : send(503, 'not ready'));
    else if (path === '/metrics') {
      options.metrics.metrics().then(
        (text) => send(200, text, options.metrics.contentType),
        (error: Error) => send(500, error.message),
      );
    } else send(404, 'not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://${options.host}:${port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
