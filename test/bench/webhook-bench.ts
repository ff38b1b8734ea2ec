/**
 * Webhook benchmark: admission reviews per second and p50/p99 over HTTPS,
 * against a bare fastify HTTPS server that echoes an allow on the same machine.
 */
import https from 'node:https';
import Fastify from 'fastify';
import pino from 'pino';
import { createCertificateAuthority, createServingCertificate } from '../../certs/generate.js';
import { startWebhookServer } from '../../webhook/server.js';
import { MANAGED_LABEL, MANAGED_LABEL_VALUE } from '../../lib/contract.js';
import { load, type LatencySummary } from './stats.js';

function review(uid: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'default',
      userInfo: { username: 'bench' },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { generateName: 'job-', labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE, 'job-name': 'pygeoapi-job-x' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'], env: [{ name: 'A', value: 'b' }] }] },
      },
      dryRun: false,
    },
  });
}

function poster(port: number, ca: string, path: string): (i: number) => Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16, ca, servername: 'bench.default.svc' });
  return (i) =>
    new Promise((resolve, reject) => {
      const body = review(`uid-${i}`);
      const request = https.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
      });
      request.on('error', reject);
      request.end(body);
    });
}

export async function run(): Promise<Record<string, unknown>> {
  const total = Number(process.env.BENCH_REVIEWS ?? 20_000);
  const ca = createCertificateAuthority({ commonName: 'bench-ca' });
  const cert = createServingCertificate({ ca, serviceName: 'bench', namespace: 'default' });
  const webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { key: cert.keyPem, cert: cert.certPem },
    settings: { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-', defaultTtlSecondsAfterFinished: 604800 },
    logger: pino({ level: 'silent' }),
  });
  const echo = Fastify({ https: { key: cert.keyPem, cert: cert.certPem }, bodyLimit: 8 * 1024 * 1024 });
  echo.post('/mutate', async (request) => {
    const uid = (request.body as { request: { uid: string } }).request.uid;
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } };
  });
  await echo.listen({ host: '127.0.0.1', port: 0 });
  const echoPort = (echo.server.address() as { port: number }).port;
  try {
    const measure = async (port: number): Promise<LatencySummary> => {
      const post = poster(port, ca.certPem, '/mutate');
      await load(500, 16, post);
      return load(total, 16, post);
    };
    const ours = await measure(webhook.port);
    const bare = await measure(echoPort);
    return { webhook: ours, bareFastifyHttpsEcho: bare, throughputRatio: Number((ours.perSecond / bare.perSecond).toFixed(2)) };
  } finally {
    await webhook.close();
    await echo.close();
  }
}
