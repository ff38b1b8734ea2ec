/**
 * Callbacks end to end: two API replicas against local-cluster, a local
 * receiver; every state is delivered exactly once, the success callback
 * carries the results.
 */
import t from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { BatchV1Api } from '@kubernetes/client-node';
import { startLocalCluster } from '../../local-cluster/index.js';
import { startApi } from '../../api/index.js';
import { loadConfigFile } from '../../lib/config/index.js';
import { createLogger } from '../../lib/logging.js';
import { ANNOTATIONS } from '../../lib/contract.js';
import { waitFor } from '../helpers/wait-for.js';

t.test('callbacks are delivered once per state from one leader', async (t) => {
  const received: Array<{ path: string; body: unknown }> = [];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => receiver.close(() => r())));
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const cluster = await startLocalCluster({ containerRemovalDelayMs: 1000 });
  t.teardown(() => cluster.stop());
  const { config } = loadConfigFile(resolve('pygeoapi-config.yaml'), { PYGEOAPI_K8S_MANAGER_CALLBACK_ALLOW: '127.0.0.1', PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'none' });
  const start = () =>
    startApi({ config, kubeConfig: cluster.kubeConfig(), namespace: 'default', host: '127.0.0.1', port: 0, logger: createLogger('api', 'silent'), metrics: new Registry(), archiveLogs: false });
  const replicas = [await start(), await start()];
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(replicas.map((r) => r.close()));
  };
  t.teardown(stopAll);

  const response = await fetch(`${replicas[0]!.url}/processes/echo/execution`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify({
      inputs: { stringInput: 'called back' },
      subscriber: { successUri: `${base}/success`, inProgressUri: `${base}/progress`, failedUri: `${base}/failed` },
    }),
  });
  t.equal(response.status, 201);
  const { jobID } = (await response.json()) as { jobID: string };

  const success = await waitFor(() => received.find((r) => r.path === '/success'), { what: 'the success callback', timeoutMs: 30_000 });
  t.same(success.body, { stringInput: 'called back' }, 'the success callback carries the results');

  const batch = cluster.kubeConfig().makeApiClient(BatchV1Api);
  await waitFor(
    async () => {
      const job = await batch.readNamespacedJob({ namespace: 'default', name: `pygeoapi-job-${jobID}` });
      return job.metadata?.annotations?.[ANNOTATIONS.callbacksSent]?.includes('successful');
    },
    { what: 'the delivery record on the Job', timeoutMs: 30_000 },
  );
  await stopAll();

  const count = (path: string) => received.filter((r) => r.path === path).length;
  t.equal(count('/success'), 1, 'success delivered exactly once');
  t.equal(count('/failed'), 0, 'no failure callback');
  const progress = received.filter((r) => r.path === '/progress').map((r) => (r.body as { status: string }).status);
  t.same(progress, [...new Set(progress)], 'each in-progress state at most once');
  for (const r of received.filter((x) => x.path === '/progress')) t.equal((r.body as { jobID: string }).jobID, jobID);
});
