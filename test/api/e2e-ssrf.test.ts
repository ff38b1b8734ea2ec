/**
 * Callbacks cannot be turned against the cluster: subscriber URLs at
 * loopback, private, metadata, IPv4-mapped and decimal/octal addresses, a
 * name resolving to loopback and a redirect to loopback are all refused —
 * at execute time with a 400, from a Job's annotation with an Event — while
 * an allow-listed local receiver gets its callback. Resolution goes through
 * a test resolver for `*.test` names (no traffic leaves loopback).
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CoreV1Event } from '@kubernetes/client-node';
import { startTestCluster } from '../helpers/local-cluster.js';
import { jobIdOf, startApiHarness } from '../helpers/api-e2e.js';
import { SHIPPED_CONFIG } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { systemResolver, type Resolver } from '../../api/callbacks/post-callback.js';
import { buildJob } from '../../api/execution/job-manifest.js';
import { ANNOTATIONS } from '../../lib/contract.js';

interface Hit {
  path: string;
  body: string;
}

async function receiver(t: Test, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ port: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      answer(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, hits };
}

// The attacker's target: anything reaching it is a successful SSRF.
const target = await receiver(t, (_req, res) => res.writeHead(200).end('secret'));
const allowed = await receiver(t, (req, res) => {
  if (req.url === '/redirect') res.writeHead(307, { location: `http://127.0.0.1:${target.port}/via-redirect` }).end();
  else if (req.url === '/unavailable') res.writeHead(503).end();
  else res.writeHead(204).end();
});

/** `*.test` names resolve here; callback-receiver.test is allow-listed, rebind.test is not. */
const resolver: Resolver = async (host) => (host.endsWith('.test') ? [{ address: '127.0.0.1', family: 4 }] : systemResolver(host));

const cluster = await startTestCluster(t, { namespaces: ['ssrf'] });
const api = await startApiHarness(t, {
  cluster,
  namespace: 'ssrf',
  configFile: SHIPPED_CONFIG,
  resolver,
  env: { PYGEOAPI_K8S_MANAGER_CALLBACK_ALLOW: 'callback-receiver.test', PYGEOAPI_K8S_MANAGER_CALLBACK_MAX_ATTEMPTS: '2' },
});
const RECEIVER = `http://callback-receiver.test:${allowed.port}`;

const execute = (subscriber: Record<string, string>) =>
  api.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'ssrf' }, subscriber }, headers: { prefer: 'respond-async' } });

async function jobEvents(jobName: string, reason: string): Promise<CoreV1Event[]> {
  const list = await api.core.listNamespacedEvent({ namespace: 'ssrf' });
  return list.items.filter((e) => e.involvedObject.name === jobName && e.reason === reason);
}

t.test('refused at execute time with a 400 naming the problem', async (t) => {
  const p = target.port;
  const cases: Array<[string, RegExp]> = [
    [`http://127.0.0.1:${p}/`, /127\.0\.0\.1 is a loopback address/],
    ['http://10.0.0.1/', /10\.0\.0\.1 is a private address/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a metadata address/],
    [`http://[::ffff:127.0.0.1]:${p}/`, /loopback address/],
    [`http://[::1]:${p}/`, /loopback address/],
    [`http://2130706433:${p}/`, /127\.0\.0\.1 is a loopback address/],
    [`http://0177.0.0.1:${p}/`, /127\.0\.0\.1 is a loopback address/],
    [`http://localhost:${p}/`, /localhost \((127\.0\.0\.1|0:0:0:0:0:0:0:1)\) is a loopback address/],
    [`http://rebind.test:${p}/`, /rebind\.test \(127\.0\.0\.1\) is a loopback address/],
    [`ftp://callback-receiver.test/`, /only http and https/],
    [`http://user:hunter2@callback-receiver.test:${allowed.port}/`, /must not contain credentials/],
  ];
  for (const [uri, problem] of cases) {
    const response = await execute({ successUri: uri });
    t.equal(response.status, 400, `${uri}: 400`);
    const detail = String(response.json().detail);
    t.match(detail, /^subscriber\.successUri /, `${uri}: names the field`);
    t.match(detail, problem, `${uri}: says why (${detail})`);
    t.notMatch(detail, /hunter2/, `${uri}: no credentials echoed`);
  }
  t.equal(target.hits.length, 0, 'the target received nothing');
  t.notMatch(api.logText(), /hunter2/, 'no credentials in the log');
});

t.test('an allow-listed receiver gets its callback', async (t) => {
  const response = await execute({ successUri: `${RECEIVER}/ok?token=q-s3cret` });
  t.equal(response.status, 201);
  const hit = await waitFor(() => allowed.hits.find((h) => h.path === '/ok?token=q-s3cret'), { what: 'the success callback', timeoutMs: 30_000 });
  t.same(JSON.parse(hit.body), { stringInput: 'ssrf' }, 'the results');
  await waitFor(() => /callback delivered/.test(api.logText()), { what: 'the delivery log line' });
  t.notMatch(api.logText(), /q-s3cret/, 'the query string is not logged');
});

t.test('a redirect to loopback is not followed', async (t) => {
  const response = await execute({ successUri: `${RECEIVER}/redirect` });
  t.equal(response.status, 201);
  const jobName = `pygeoapi-job-${jobIdOf(response.headers.get('location'))}`;
  const [event] = await waitFor(async () => ((await jobEvents(jobName, 'CallbackRefused')).length ? jobEvents(jobName, 'CallbackRefused') : undefined), {
    what: 'a CallbackRefused Event on the Job',
    timeoutMs: 30_000,
  });
  t.match(event?.message, /answered 307 \(a redirect\); redirects are not followed/);
  t.equal(event?.type, 'Warning');
  t.ok(allowed.hits.some((h) => h.path === '/redirect'), 'the receiver was asked');
  t.equal(target.hits.length, 0, 'the redirect target received nothing');
  t.match(await api.metrics.getSingleMetricAsString('ogc_callbacks_given_up_total'), /reason="refused"\} [1-9]/);
});

t.test('a subscriber annotation from kubectl pointing at loopback gets an Event, no callback', async (t) => {
  const config = api.config;
  const jobId = '5f1b7a4e-0000-4000-8000-00000000ab01';
  const job = buildJob({
    process: config.processes.find((p) => p.id === 'echo')!,
    jobId,
    inputs: { stringInput: 'kubectl' },
    namespace: 'ssrf',
    jobNamePrefix: config.settings.jobNamePrefix,
    archiveLogs: false,
    subscriber: { successUri: `http://127.0.0.1:${target.port}/annotation?key=an-s3cret`, failedUri: `http://0177.0.0.1:${target.port}/failed` },
    now: new Date(),
  });
  await api.batch.createNamespacedJob({ namespace: 'ssrf', body: job });
  const jobName = job.metadata!.name!;
  const events = await waitFor(async () => {
    const found = await jobEvents(jobName, 'CallbackRefused');
    return found.length > 0 ? found : undefined;
  }, { what: 'a CallbackRefused Event', timeoutMs: 30_000 });
  t.match(events[0]?.message, /127\.0\.0\.1 is a loopback address/);
  t.notMatch(events[0]?.message, /an-s3cret/, 'no query string in the Event');
  const sent = await waitFor(async () => {
    const current = await api.batch.readNamespacedJob({ namespace: 'ssrf', name: jobName });
    return current.metadata?.annotations?.[ANNOTATIONS.callbacksSent]?.includes('successful') ? current : undefined;
  }, { what: 'the refused state recorded, so it is not tried again', timeoutMs: 30_000 });
  t.ok(sent);
  t.equal(target.hits.length, 0, 'the target received nothing');
  t.notMatch(api.logText(), /an-s3cret/, 'no query string in the log');
});

t.test('a failing receiver is tried a bounded number of times, then given up', async (t) => {
  const response = await execute({ successUri: `${RECEIVER}/unavailable` });
  t.equal(response.status, 201);
  const jobName = `pygeoapi-job-${jobIdOf(response.headers.get('location'))}`;
  const [event] = await waitFor(async () => {
    const found = await jobEvents(jobName, 'CallbackGaveUp');
    return found.length ? found : undefined;
  }, { what: 'a CallbackGaveUp Event', timeoutMs: 60_000 });
  t.match(event?.message, /given up: 2 attempts failed; last error: .*answered 503/);
  t.equal(allowed.hits.filter((h) => h.path === '/unavailable').length, 2, 'exactly the configured attempts');
  t.match(await api.metrics.getSingleMetricAsString('ogc_callbacks_given_up_total'), /reason="gave-up"\} 1/);
  t.match(api.logText(), /callback failed; will retry/);
});
