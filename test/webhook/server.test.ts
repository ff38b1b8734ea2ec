import { Agent, request, type RequestOptions } from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import jsonpatch from 'fast-json-patch';
import { pino } from 'pino';
import t from 'tap';
import { createCertificateAuthority, createServingCertificate } from '../../certs/generate.js';
import { parseCertificate } from '../../certs/rotation.js';
import { LOG_FINALIZER, MANAGED_LABEL } from '../../lib/contract.js';
import { type ReviewEvent, startWebhookServer } from '../../webhook/server.js';

const SERVERNAME = 'hook.jobs.svc';
const ca = createCertificateAuthority({ commonName: 'test-ca' });
const firstCert = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs' });
const secondCert = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs' });
const serialOf = (pem: string): string => parseCertificate(pem).serialNumber;

const events: ReviewEvent[] = [];
/** What the server logged at warn and above. */
const logged: Array<{ level: number; msg: string; statusCode?: number }> = [];
const server = await startWebhookServer({
  host: '127.0.0.1',
  port: 0,
  tls: { key: firstCert.keyPem, cert: firstCert.certPem },
  settings: { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-' },
  logger: pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) }),
  onReview: (event) => events.push(event),
});
t.teardown(() => server.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  serial: string;
}

/** One HTTPS request that verifies the server against our CA and the Service name. */
function call(method: string, path: string, body?: string | Buffer, extra: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        ca: ca.certPem,
        servername: SERVERNAME,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...extra,
      },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON; keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, serial });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function jobReview(uid: string): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'jobs',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'pygeoapi-job-1', labels: { [MANAGED_LABEL]: 'true' }, finalizers: ['keep/me'] },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      },
    },
  };
}

t.test('probes over verified TLS; a wrong name is refused by the client', async (t) => {
  t.match(await call('GET', '/healthz'), { status: 200, body: { status: 'ok' } });
  t.match(await call('GET', '/readyz'), { status: 200, body: { status: 'ready' } });
  t.equal(server.url, `https://127.0.0.1:${server.port}`);
  await t.rejects(call('GET', '/healthz', undefined, { servername: 'other.jobs.svc' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  const stranger = createCertificateAuthority({ commonName: 'stranger' });
  await t.rejects(call('GET', '/healthz', undefined, { ca: stranger.certPem }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

t.test('TLS 1.3 preferred; TLS 1.2 only with forward-secret AEAD suites; older versions refused', async (t) => {
  const handshake = (options: tls.ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername: SERVERNAME, ca: ca.certPem, ...options }, () => {
        const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
        socket.end();
        resolve(result);
      });
      socket.once('error', reject);
    });
  t.match(await handshake({}), { protocol: 'TLSv1.3' }, 'a modern client gets TLS 1.3');
  t.match(await handshake({ maxVersion: 'TLSv1.2' }), { protocol: 'TLSv1.2', cipher: /^ECDHE-.*(GCM|CHACHA20)/ }, 'TLS 1.2 gets ECDHE with an AEAD');
  await t.rejects(handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-SHA256:ECDHE-RSA-AES128-SHA256' }), 'static RSA and CBC suites are refused');
  await t.rejects(handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), 'TLS 1.1 is refused');
});

t.test('a review round trip', async (t) => {
  events.length = 0;
  const review = jobReview('round-trip-uid');
  const answer = await call('POST', '/mutate', JSON.stringify(review));
  t.equal(answer.status, 200);
  t.equal(answer.body.apiVersion, 'admission.k8s.io/v1');
  t.equal(answer.body.kind, 'AdmissionReview');
  t.match(answer.body.response, { uid: 'round-trip-uid', allowed: true, patchType: 'JSONPatch' });
  const patch = JSON.parse(Buffer.from(answer.body.response.patch, 'base64').toString('utf8'));
  const object = (review.request as { object: unknown }).object;
  const patched = jsonpatch.applyPatch(structuredClone(object), patch, true, false).newDocument as {
    metadata: { finalizers: string[] };
  };
  t.same(patched.metadata.finalizers, ['keep/me', LOG_FINALIZER]);
  t.match(events, [{ outcome: 'patched', kind: 'Pod', operation: 'CREATE' }]);
  t.type(events[0]?.durationSeconds, 'number');

  const update = jobReview('update-uid');
  (update.request as Record<string, unknown>).operation = 'UPDATE';
  const unchanged = await call('POST', '/mutate', JSON.stringify(update));
  t.same(unchanged.body.response, { uid: 'update-uid', allowed: true });
  t.match(events[1], { outcome: 'unchanged', operation: 'UPDATE' });
});

t.test('bad bodies get 4xx JSON answers', async (t) => {
  events.length = 0;
  const bad = await call('POST', '/mutate', '{"apiVersion": "admission.k8s.io/v1", "kind": ');
  t.equal(bad.status, 400);
  t.type(bad.body.message, 'string', 'malformed JSON: a JSON error');

  const notReview = await call('POST', '/mutate', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }));
  t.match(notReview, { status: 400, body: { error: 'Bad Request', message: /AdmissionReview/ } });

  const malformed = await call('POST', '/mutate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'm-1' } }));
  t.equal(malformed.status, 200);
  t.match(malformed.body.response, { uid: 'm-1', allowed: false, status: { code: 400 } });
  t.match(events, [{ outcome: 'rejected' }, { outcome: 'denied' }], 'bodies fastify rejects before the route are not reviews');

  const huge = await call('POST', '/mutate', Buffer.alloc(9 * 1024 * 1024, 0x20));
  t.equal(huge.status, 413, 'over the body limit');
  t.same(
    logged.filter((l) => l.msg === 'webhook request failed').map((l) => l.statusCode),
    [400, 413],
    'bodies fastify rejects are logged (the webhook has no request logger)',
  );
  const large = jobReview('large-uid');
  ((large.request as { object: { metadata: Record<string, unknown> } }).object.metadata).annotations = {
    'example.com/big': 'x'.repeat(5 * 1024 * 1024),
  };
  t.match((await call('POST', '/mutate', JSON.stringify(large))).body.response, { uid: 'large-uid', allowed: true });
});

t.test('connections stay open longer than the API server keeps them idle', async (t) => {
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const answer = await call('GET', '/healthz', undefined, { agent });
  t.equal(answer.headers['keep-alive'], 'timeout=120');
});

t.test('new TLS credentials without a restart, while requests continue', async (t) => {
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => keepAlive.destroy());
  const before = await call('GET', '/healthz', undefined, { agent: keepAlive });
  t.equal(before.serial, serialOf(firstCert.certPem));

  // Rounds of new connections; the swap happens while round 3 is in flight.
  const oldSerial = serialOf(firstCert.certPem);
  const newSerial = serialOf(secondCert.certPem);
  const rounds: Answer[][] = [];
  for (let round = 0; round < 8; round++) {
    const batch = Promise.all(Array.from({ length: 5 }, (_, i) => call('POST', '/mutate', JSON.stringify(jobReview(`swap-${round}-${i}`)))));
    if (round === 3) server.setTlsCredentials(secondCert.keyPem, secondCert.certPem);
    rounds.push(await batch);
  }
  t.ok(rounds.flat().every((a) => a.status === 200 && a.body.response.allowed === true), 'every request around the swap answered');
  t.ok(rounds.slice(0, 3).flat().every((a) => a.serial === oldSerial), 'before the swap: the old certificate');
  t.ok(rounds[3]!.every((a) => a.serial === oldSerial || a.serial === newSerial), 'during: either');
  t.ok(rounds.slice(4).flat().every((a) => a.serial === newSerial), 'after: the new certificate');

  const fresh = await call('GET', '/healthz');
  t.equal(fresh.serial, serialOf(secondCert.certPem), 'new connections see the new certificate');
  const reused = await call('GET', '/healthz', undefined, { agent: keepAlive });
  t.equal(reused.status, 200, 'an open connection keeps working');
  t.equal(reused.serial, serialOf(firstCert.certPem), '…with the certificate it was opened with');

  t.throws(() => server.setTlsCredentials('not a key', secondCert.certPem), 'bad credentials are refused');
  t.equal((await call('GET', '/healthz')).serial, serialOf(secondCert.certPem), 'and the good ones stay');
});

t.test('fuzz: random and truncated bodies never get a 5xx', async (t) => {
  // A fixed seed keeps any failure reproducible.
  let seed = 0x5eed;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const valid = JSON.stringify(jobReview('fuzz'));
  const values: unknown[] = [null, true, 0, -1.5, '', 'x', [], {}, [[]], { request: null }, '__proto__', { __proto__: { a: 1 } }];
  const bodies: Array<string | Buffer> = [];
  for (let i = 0; i < 4000; i++) {
    const kind = i % 4;
    if (kind === 0) bodies.push(valid.slice(0, Math.floor(random() * valid.length)));
    else if (kind === 1) bodies.push(Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))));
    else if (kind === 2) {
      const review = jobReview(`fuzz-${i}`) as Record<string, any>;
      const path = pick([[], ['request'], ['request', 'object'], ['request', 'object', 'metadata'], ['request', 'object', 'spec']]);
      let target = review;
      for (const key of path) target = target[key];
      target[pick(['uid', 'kind', 'operation', 'object', 'metadata', 'labels', 'spec', 'containers', 'request', 'apiVersion'])] = pick(values);
      bodies.push(JSON.stringify(review));
    } else {
      const chars = valid.split('');
      chars[Math.floor(random() * chars.length)] = pick(['{', '}', '"', ',', ':', '\\', '\u0000', 'é']);
      bodies.push(chars.join(''));
    }
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  const statuses = await Promise.all(bodies.map((body) => call('POST', '/mutate', body, { agent }).then((a) => a.status)));
  const serverErrors = statuses.filter((s) => s >= 500);
  t.same(serverErrors, [], 'no 5xx');
  t.ok(statuses.every((s) => s === 200 || s === 400), 'only answers or 400s');
  t.equal((await call('GET', '/healthz')).status, 200, 'still serving');
});

t.test('close stops serving', async (t) => {
  const other = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { key: firstCert.keyPem, cert: firstCert.certPem },
    settings: { archiveLogs: false, jobNamePrefix: 'p-' },
    logger: pino({ level: 'silent' }),
  });
  await other.close();
  await t.rejects(call('GET', '/healthz', undefined, { port: other.port }), { code: 'ECONNREFUSED' });
});
