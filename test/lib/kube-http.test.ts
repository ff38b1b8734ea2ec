/**
 * KubeHttp's errors at the wire: a non-2xx answer becomes one KubeApiError
 * (Status fields, Retry-After from the header even without a Status), a
 * server that is not there or does not answer in time a network error —
 * and each of them maps to the OGC answer the API gives.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeHttp, pointerSegment } from '../../lib/kube/http.js';
import { kubeFailure } from '../../api/kube/kube-errors.js';

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'tok' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** A stand-in API server answering by path. */
async function serve(t: Test, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<KubeHttp> {
  const server = http.createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kube = new KubeHttp(kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  t.teardown(async () => {
    kube.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return kube;
}

t.test('answers become KubeApiError with what the server said', async (t) => {
  const kube = await serve(t, (req, res) => {
    if (req.url === '/throttled') res.writeHead(429, { 'retry-after': '7', 'content-type': 'text/html' }).end('<html>slow down</html>');
    else if (req.url === '/status') {
      res.writeHead(503, { 'retry-after': '3', 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 503, reason: 'ServiceUnavailable', message: 'etcd is busy' }));
    } else if (req.url === '/ok') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ auth: req.headers.authorization }));
    else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'jobs.batch "x" not found' }));
  });
  t.same(await kube.request({ path: '/ok' }), { auth: 'Bearer tok' }, 'credentials from the kubeconfig');
  const throttled = await kube.request({ path: '/throttled' }).catch((e: unknown) => e);
  t.ok(throttled instanceof KubeApiError, 'one error type');
  t.match(throttled, { code: 429, retryAfterSeconds: 7, message: '<html>slow down</html>' }, 'Retry-After read from the header, the text kept');
  t.match(kubeFailure(throttled, 'creating Job x'), { status: 503, headers: { 'retry-after': '7' } }, 'the client is told when to come back');
  const busy = await kube.request({ path: '/status' }).catch((e: unknown) => e);
  t.match(busy, { code: 503, reason: 'ServiceUnavailable', message: 'etcd is busy', retryAfterSeconds: 3, status: { details: { retryAfterSeconds: 3 } } });
  const missing = await kube.request({ path: '/missing' }).catch((e: unknown) => e);
  t.match(missing, { code: 404, reason: 'NotFound', retryAfterSeconds: undefined });
});

t.test('no answer: network errors, mapped to 503 and 504', async (t) => {
  const silent = await serve(t, () => {
    // Never answers.
  });
  const timedOut = await silent.request({ path: '/slow', timeoutMs: 100 }).catch((e: unknown) => e);
  t.notOk(timedOut instanceof KubeApiError, 'not an answer');
  t.equal(kubeFailure(timedOut, 'reading Job x').status, 504, 'our timeout: gateway timeout');

  const closed = new KubeHttp(kubeConfigFor('http://127.0.0.1:1'));
  const refused = await closed.request({ path: '/api/v1/namespaces' }).catch((e: unknown) => e);
  t.match(refused, { code: 'ECONNREFUSED' });
  t.match(kubeFailure(refused, 'creating Job x'), { status: 503, headers: { 'retry-after': '5' } }, 'refused: unavailable');
  closed.close();
});

t.test('JSON pointer segments of annotation names', async (t) => {
  t.equal(pointerSegment('pygeoapi.io/dismissed'), 'pygeoapi.io~1dismissed');
  t.equal(pointerSegment('a~b/c'), 'a~0b~1c', '~ first, so a written ~1 is not read as /');
});
