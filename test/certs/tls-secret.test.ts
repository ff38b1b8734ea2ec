/**
 * The Secret/webhook-config edges against a small in-memory stand-in for the
 * API server's JSON calls (KubeHttp.request) that keeps resourceVersions and
 * answers 404/409 like the API server; the end-to-end runs against
 * local-cluster are in test/deploy and test/webhook.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { V1MutatingWebhookConfiguration, V1Secret } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import t from 'tap';
import { createCertificateAuthority, createServingCertificate } from '../../certs/generate.js';
import { parseCertificate, splitPemBundle } from '../../certs/rotation.js';
import {
  caBundlePatch,
  ensureTlsSecret,
  type EnsureTlsSecretOptions,
  judgeTlsSecret,
  loadTlsFromFiles,
  patchWebhookCaBundle,
  TLS_SECRET_MANAGED_BY,
  TLS_SECRET_MANAGED_BY_LABEL,
} from '../../certs/tls-secret.js';
import { KubeApiError, type KubeRequest } from '../../lib/kube/http.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (days: number): (() => Date) => () => new Date(T0.getTime() + days * DAY);
const OPTIONS: EnsureTlsSecretOptions = { namespace: 'jobs', name: 'hook-tls', serviceName: 'hook', now: at(0) };
const SERVING = 'jobs/hook-tls';
const CA = 'jobs/hook-tls-ca';

function apiError(code: number): KubeApiError {
  return new KubeApiError(code, `HTTP ${code}`);
}

/** Secrets by `namespace/name`, served at /api/v1/namespaces/<ns>/secrets[/<name>]. */
class FakeSecrets {
  readonly store = new Map<string, V1Secret>();
  writes = 0;
  readonly calls: string[] = [];
  private version = 0;
  /** Runs once before the next write: another replica getting there first. */
  beforeNextWrite: (() => Promise<void>) | undefined;
  /** Answers a request before the store does (an injected failure). */
  intercept: ((request: KubeRequest) => void) | undefined;

  async request<T>(request: KubeRequest): Promise<T> {
    const method = request.method ?? 'GET';
    this.calls.push(`${method} ${request.path}`);
    this.intercept?.(request);
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(request.path);
    if (!match) throw apiError(404);
    const [, namespace, name] = match;
    const body = request.body as V1Secret;
    if (method === 'GET') return this.read(`${namespace}/${name}`) as T;
    await this.interleave();
    if (method === 'POST') {
      const key = `${namespace}/${body.metadata?.name}`;
      if (this.store.has(key)) throw apiError(409);
      return this.save(key, body) as T;
    }
    if (method === 'PUT') {
      const key = `${namespace}/${name}`;
      const current = this.store.get(key);
      if (!current) throw apiError(404);
      if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) throw apiError(409);
      return this.save(key, body) as T;
    }
    throw apiError(405);
  }

  private read(key: string): V1Secret {
    const found = this.store.get(key);
    if (!found) throw apiError(404);
    return structuredClone(found);
  }

  private async interleave(): Promise<void> {
    const hook = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    await hook?.();
  }

  private save(key: string, body: V1Secret): V1Secret {
    this.writes++;
    const saved = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } });
    this.store.set(key, saved);
    return structuredClone(saved);
  }
}

function decoded(secret: V1Secret | undefined, key: string): string {
  return Buffer.from(secret?.data?.[key] ?? '', 'base64').toString('utf8');
}

t.test('missing: the CA and the serving certificate created in two Secrets, then found as is', async (t) => {
  const api = new FakeSecrets();
  const first = await ensureTlsSecret(api, OPTIONS);
  t.equal(first.action, 'created');
  t.equal(first.migrated, false);
  const stored = api.store.get(SERVING);
  t.equal(stored?.type, 'kubernetes.io/tls');
  t.equal(stored?.metadata?.labels?.[TLS_SECRET_MANAGED_BY_LABEL], TLS_SECRET_MANAGED_BY);
  t.same(Object.keys(stored?.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key'], 'no CA key next to the serving certificate');
  t.equal(decoded(stored, 'tls.crt'), first.material.cert);
  t.equal(decoded(stored, 'ca.crt'), first.material.ca);
  const ca = api.store.get(CA);
  t.equal(ca?.type, 'kubernetes.io/tls');
  t.equal(ca?.metadata?.labels?.[TLS_SECRET_MANAGED_BY_LABEL], TLS_SECRET_MANAGED_BY);
  t.same(Object.keys(ca?.data ?? {}).sort(), ['tls.crt', 'tls.key'], 'the CA Secret: the CA certificate and its key');
  t.equal(decoded(ca, 'tls.crt'), first.material.ca);
  t.ok(new X509Certificate(first.material.ca).checkPrivateKey(createPrivateKey(decoded(ca, 'tls.key'))), 'the CA key belongs to the CA in ca.crt');
  t.notOk('caKey' in first.material, 'the CA key stays in its Secret');
  t.ok(new X509Certificate(first.material.cert).verify(new X509Certificate(first.material.ca).publicKey));
  t.ok(parseCertificate(first.material.cert).dnsNames.includes('hook.jobs.svc'));

  const second = await ensureTlsSecret(api, { ...OPTIONS, now: at(5) });
  t.same(second, { material: first.material, action: 'existing', migrated: false });
  t.equal(api.writes, 2);
});

t.test('the CA Secret may be named', async (t) => {
  const api = new FakeSecrets();
  await ensureTlsSecret(api, { ...OPTIONS, caSecretName: 'hook-ca' });
  t.same([...api.store.keys()].sort(), ['jobs/hook-ca', SERVING]);
});

t.test('a lost create race adopts the winner', async (t) => {
  const api = new FakeSecrets();
  let winner: Awaited<ReturnType<typeof ensureTlsSecret>> | undefined;
  api.beforeNextWrite = async () => {
    winner = await ensureTlsSecret(api, OPTIONS);
  };
  const loser = await ensureTlsSecret(api, OPTIONS);
  t.equal(winner?.action, 'created');
  t.equal(loser.action, 'existing');
  t.same(loser.material, winner?.material);
  t.equal(api.writes, 2);
});

t.test('renewal: a new serving certificate under the same CA', async (t) => {
  const api = new FakeSecrets();
  const first = await ensureTlsSecret(api, OPTIONS);
  const caBefore = structuredClone(api.store.get(CA));
  const renewed = await ensureTlsSecret(api, { ...OPTIONS, now: at(25) });
  t.equal(renewed.action, 'renewed');
  t.equal(renewed.material.ca, first.material.ca, 'same CA, caBundle unchanged');
  t.not(parseCertificate(renewed.material.cert).serialNumber, parseCertificate(first.material.cert).serialNumber);
  t.equal(api.store.get(SERVING)?.metadata?.resourceVersion, '3');
  t.same(api.store.get(CA), caBefore, 'the CA Secret untouched');
  t.equal(decoded(api.store.get(SERVING), 'tls.crt'), renewed.material.cert);
});

t.test('a lost renewal race adopts the winner', async (t) => {
  const api = new FakeSecrets();
  await ensureTlsSecret(api, OPTIONS);
  let winner: Awaited<ReturnType<typeof ensureTlsSecret>> | undefined;
  api.beforeNextWrite = async () => {
    winner = await ensureTlsSecret(api, { ...OPTIONS, now: at(25) });
  };
  const loser = await ensureTlsSecret(api, { ...OPTIONS, now: at(25) });
  t.equal(winner?.action, 'renewed');
  t.same(loser, { material: winner?.material, action: 'existing', migrated: false });
});

t.test('CA due: a new CA, with the old one kept in ca.crt for the overlap', async (t) => {
  const api = new FakeSecrets();
  const first = await ensureTlsSecret(api, OPTIONS);
  const rolled = await ensureTlsSecret(api, { ...OPTIONS, now: at(7 * 365) });
  t.equal(rolled.action, 'renewed');
  const bundle = splitPemBundle(rolled.material.ca);
  t.equal(bundle.length, 2);
  t.not(bundle[0], first.material.ca, 'a new active CA first');
  t.equal(bundle[1], first.material.ca, 'then the previous one');
  t.ok(new X509Certificate(rolled.material.cert).checkIssued(new X509Certificate(bundle[0]!)));
  t.equal(decoded(api.store.get(CA), 'tls.crt'), bundle[0], 'the CA Secret holds the new CA');
  const caKey = createPrivateKey(decoded(api.store.get(CA), 'tls.key'));
  t.ok(new X509Certificate(bundle[0]!).checkPrivateKey(caKey), 'with its key');

  // The next serving renewal keeps the new CA and drops the old one.
  const next = await ensureTlsSecret(api, { ...OPTIONS, now: at(7 * 365 + 25) });
  t.equal(next.action, 'renewed');
  t.same(splitPemBundle(next.material.ca), [bundle[0]]);
});

t.test('a CA rolled but the serving Secret not yet written: the served CA stays trusted', async (t) => {
  const api = new FakeSecrets();
  const first = await ensureTlsSecret(api, OPTIONS);
  // A replica wrote the new CA and stopped before the serving Secret.
  const newCa = createCertificateAuthority({ commonName: 'new', now: at(1)() });
  const caSecret = api.store.get(CA)!;
  api.store.set(CA, { ...caSecret, data: { 'tls.crt': Buffer.from(newCa.certPem).toString('base64'), 'tls.key': Buffer.from(newCa.keyPem).toString('base64') } });
  const result = await ensureTlsSecret(api, { ...OPTIONS, now: at(2) });
  t.equal(result.action, 'renewed');
  t.same(splitPemBundle(result.material.ca), [newCa.certPem, first.material.ca], 'the new CA, then the one replicas still serve under');
  t.ok(new X509Certificate(result.material.cert).checkIssued(new X509Certificate(newCa.certPem)));
});

t.test('migration: an earlier version\'s Secret with ca.key next to the serving certificate', async (t) => {
  const ca = createCertificateAuthority({ commonName: 'legacy', now: T0 });
  const leaf = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs', now: T0 });
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const legacy = (): V1Secret => ({
    metadata: { name: 'hook-tls', namespace: 'jobs', resourceVersion: '7', labels: { [TLS_SECRET_MANAGED_BY_LABEL]: TLS_SECRET_MANAGED_BY } },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(leaf.certPem), 'tls.key': b64(leaf.keyPem), 'ca.crt': b64(ca.certPem), 'ca.key': b64(ca.keyPem) },
  });

  const api = new FakeSecrets();
  api.store.set(SERVING, legacy());
  const result = await ensureTlsSecret(api, { ...OPTIONS, now: at(1) });
  t.same(result, { material: { cert: leaf.certPem, key: leaf.keyPem, ca: ca.certPem }, action: 'existing', migrated: true }, 'the same certificate keeps being served');
  t.same(Object.keys(api.store.get(SERVING)?.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key'], 'the key left the serving Secret');
  t.equal(decoded(api.store.get(CA), 'tls.crt'), ca.certPem, 'the CA Secret holds the old CA');
  t.equal(decoded(api.store.get(CA), 'tls.key'), ca.keyPem, 'and its key');
  t.same(api.calls.filter((c) => !c.startsWith('GET')), ['POST /api/v1/namespaces/jobs/secrets', 'PUT /api/v1/namespaces/jobs/secrets/hook-tls'], 'the CA written first, then the key removed');
  const renewed = await ensureTlsSecret(api, { ...OPTIONS, now: at(25) });
  t.equal(renewed.material.ca, ca.certPem, 'renewals keep using the migrated CA');
  t.equal(renewed.migrated, false);

  // A CA Secret already there (a migration cut short) wins; the key is still removed.
  const again = new FakeSecrets();
  await ensureTlsSecret(again, OPTIONS);
  const existingCa = structuredClone(again.store.get(CA));
  again.store.set(SERVING, legacy());
  const adopted = await ensureTlsSecret(again, { ...OPTIONS, now: at(1) });
  t.equal(adopted.migrated, true);
  t.equal(again.store.get(CA)?.data?.['tls.crt'], existingCa?.data?.['tls.crt'], 'the CA Secret is not overwritten');
  t.notOk(again.store.get(SERVING)?.data?.['ca.key'], 'the key left the serving Secret');
  t.ok(new X509Certificate(adopted.material.cert).checkIssued(new X509Certificate(decoded(again.store.get(CA), 'tls.crt'))), 'served under the CA Secret\'s CA');
  t.same(splitPemBundle(adopted.material.ca)[1], ca.certPem, 'the legacy CA stays trusted until the next renewal');
});

t.test('judging what is there', async (t) => {
  const ca = createCertificateAuthority({ commonName: 'c', now: T0 });
  const leaf = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs', now: T0 });
  const otherLeaf = createServingCertificate({ ca, serviceName: 'x', namespace: 'jobs', now: T0 });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const secret = (data: Record<string, string>, ours = true, name = 'hook-tls'): V1Secret => ({
    metadata: { name, namespace: 'jobs', ...(ours ? { labels: { [TLS_SECRET_MANAGED_BY_LABEL]: TLS_SECRET_MANAGED_BY } } : {}) },
    type: 'kubernetes.io/tls',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
  const full = { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.certPem };
  const caSecret = secret({ 'tls.crt': ca.certPem, 'tls.key': ca.keyPem }, true, 'hook-tls-ca');
  const wanted = { dnsNames: ['hook', 'hook.jobs.svc'], renewal: { renewBeforeFraction: 1 / 3 } };
  const now = at(1)();

  const cases: Array<[string, V1Secret | undefined, V1Secret | undefined, string]> = [
    ['nothing', undefined, undefined, 'no usable CA'],
    ['only the CA', undefined, caSecret, 'missing'],
    ['complete', secret(full), caSecret, 'use'],
    ['foreign, even when due and without a CA', secret({ 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem }, false), undefined, 'use'],
    ['no CA Secret', secret(full), undefined, 'no usable CA'],
    ['no CA key', secret(full), secret({ 'tls.crt': ca.certPem }, true, 'hook-tls-ca'), 'no usable CA'],
    ['CA key of another certificate', secret(full), secret({ 'tls.crt': createCertificateAuthority({ commonName: 'x' }).certPem, 'tls.key': ca.keyPem }, true, 'hook-tls-ca'), 'no usable CA'],
    ['a CA Secret holding a leaf', secret(full), secret({ 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem }, true, 'hook-tls-ca'), 'no usable CA'],
    ['key of another certificate', secret({ ...full, 'tls.key': otherLeaf.keyPem }), caSecret, 'no usable key pair'],
    ['garbage key', secret({ ...full, 'tls.key': 'junk' }), caSecret, 'no usable key pair'],
    ['names changed', secret({ ...full, 'tls.crt': otherLeaf.certPem, 'tls.key': otherLeaf.keyPem }), caSecret, 'names changed'],
  ];
  for (const [what, s, c, want] of cases) {
    const verdict = judgeTlsSecret(s, c, wanted, now);
    t.equal(verdict.kind === 'use' ? 'use' : verdict.reason, want, what);
  }
  t.match(judgeTlsSecret(secret(full), undefined, wanted, now), { kind: 'issue', previousCaPem: ca.certPem }, 'a lost CA Secret: a new CA, the served one kept trusted');

  const strangerCa = createCertificateAuthority({ commonName: 'stranger' });
  const strangerLeaf = createServingCertificate({ ca: strangerCa, serviceName: 'hook', namespace: 'jobs' });
  const mixed = judgeTlsSecret(secret({ ...full, 'tls.crt': strangerLeaf.certPem, 'tls.key': strangerLeaf.keyPem }), caSecret, wanted, now);
  t.match(mixed, { kind: 'issue', reason: 'certificate not issued by the active CA' });
  t.match(judgeTlsSecret(secret(full), caSecret, wanted, at(25)()), { kind: 'issue', reason: 'certificate due for renewal' });
  t.match(judgeTlsSecret(secret(full), caSecret, { ...wanted, ips: ['::1'] }, now), { kind: 'issue', reason: 'names changed' }, 'an IP added');
  const withIp = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs', extraIps: ['::1'], now: T0 });
  const ipSecret = secret({ ...full, 'tls.crt': withIp.certPem, 'tls.key': withIp.keyPem });
  t.match(judgeTlsSecret(ipSecret, caSecret, { ...wanted, ips: ['0:0:0:0:0:0:0:1'] }, now), { kind: 'use' }, 'IPs compare by value');
  t.throws(() => judgeTlsSecret(secret({ 'tls.crt': leaf.certPem }, false), caSecret, wanted, now), /not managed by k8s-job-manager/);
  t.throws(() => judgeTlsSecret(secret(full), secret({ 'tls.crt': ca.certPem, 'tls.key': ca.keyPem }, false, 'hook-tls-ca'), wanted, now), /jobs\/hook-tls-ca \(the webhook's CA\) is not managed by k8s-job-manager/, 'a foreign CA Secret is never taken over');
});

t.test('a foreign Secret is used and never rewritten', async (t) => {
  const api = new FakeSecrets();
  const ca = createCertificateAuthority({ commonName: 'cert-manager-ish' });
  const leaf = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs' });
  api.store.set(SERVING, {
    metadata: { name: 'hook-tls', namespace: 'jobs', resourceVersion: '9' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(leaf.certPem).toString('base64'), 'tls.key': Buffer.from(leaf.keyPem).toString('base64') },
  });
  const result = await ensureTlsSecret(api, { ...OPTIONS, now: at(400) });
  t.same(result, { material: { cert: leaf.certPem, key: leaf.keyPem, ca: '' }, action: 'existing', migrated: false });
  t.equal(api.writes, 0);
});

t.test('errors other than a lost race surface; endless races give up', async (t) => {
  const failing = new FakeSecrets();
  failing.intercept = () => {
    throw apiError(403);
  };
  await t.rejects(ensureTlsSecret(failing, OPTIONS), { code: 403 });

  const contended = new FakeSecrets();
  let creates = 0;
  contended.intercept = (request) => {
    if (request.method !== 'POST') return;
    creates++;
    throw apiError(409);
  };
  await t.rejects(ensureTlsSecret(contended, { ...OPTIONS, maxAttempts: 3 }), { code: 409 });
  t.equal(creates, 3);
});

function webhookConfig(caBundles: Array<string | undefined>): V1MutatingWebhookConfiguration {
  return {
    metadata: { name: 'k8s-job-manager', resourceVersion: '1' },
    webhooks: caBundles.map((caBundle, i) => ({
      name: `hook-${i}.pygeoapi.io`,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      clientConfig: { service: { name: 'hook', namespace: 'jobs' }, ...(caBundle === undefined ? {} : { caBundle }) },
    })),
  };
}

t.test('caBundle patch: every differing webhook, guarded by its name', async (t) => {
  const config = webhookConfig([undefined, 'TkVX', 'b2xk']);
  const patch = caBundlePatch(config, 'TkVX');
  t.same(patch, [
    { op: 'test', path: '/webhooks/0/name', value: 'hook-0.pygeoapi.io' },
    { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'TkVX' },
    { op: 'test', path: '/webhooks/2/name', value: 'hook-2.pygeoapi.io' },
    { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: 'TkVX' },
  ]);
  const patched = jsonpatch.applyPatch(structuredClone(config), patch, true, false).newDocument;
  t.same(patched.webhooks?.map((w) => w.clientConfig.caBundle), ['TkVX', 'TkVX', 'TkVX']);
  t.same(caBundlePatch(patched, 'TkVX'), []);

  const reordered = structuredClone(config);
  reordered.webhooks?.reverse();
  t.throws(() => jsonpatch.applyPatch(reordered, patch, true, false), 'a reordered list fails the guard');
});

t.test('patchWebhookCaBundle patches our configuration by name, retrying a failed guard', async (t) => {
  let config = webhookConfig(['b2xk', 'b2xk']);
  const calls: string[] = [];
  let failNext = true;
  let refuse = false;
  const path = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/k8s-job-manager';
  const api = {
    request: async <T>(request: KubeRequest): Promise<T> => {
      calls.push(`${request.method ?? 'GET'} ${request.path}${request.contentType ? ` ${request.contentType}` : ''}`);
      if (request.path !== path) throw apiError(404);
      if ((request.method ?? 'GET') === 'GET') return structuredClone(config) as T;
      if (refuse) throw apiError(403);
      if (failNext) {
        failNext = false;
        throw apiError(422);
      }
      config = jsonpatch.applyPatch(config, request.body as jsonpatch.Operation[], true, false).newDocument;
      return config as T;
    },
  };
  const pem = createCertificateAuthority({ commonName: 'c' }).certPem;
  t.equal(await patchWebhookCaBundle(api, 'k8s-job-manager', pem), true);
  t.same(calls, [`GET ${path}`, `PATCH ${path} application/json-patch+json`, `GET ${path}`, `PATCH ${path} application/json-patch+json`]);
  t.same(config.webhooks?.map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString()), [pem, pem]);
  t.equal(await patchWebhookCaBundle(api, 'k8s-job-manager', pem), false, 'nothing to change');

  refuse = true;
  config = webhookConfig([undefined]);
  await t.rejects(patchWebhookCaBundle(api, 'k8s-job-manager', pem), { code: 403 });
});

t.test('TLS material from mounted files', async (t) => {
  const dir = t.testdir({
    withCa: { 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': 'CA' },
    withoutCa: { 'tls.crt': 'CERT', 'tls.key': 'KEY' },
    noKey: { 'tls.crt': 'CERT' },
    caIsDir: { 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': {} },
  });
  const withCa = join(dir, 'withCa');
  t.same(await loadTlsFromFiles(withCa), { cert: 'CERT', key: 'KEY', ca: 'CA' });
  t.same(await loadTlsFromFiles(join(dir, 'withoutCa')), { cert: 'CERT', key: 'KEY', ca: undefined });
  await t.rejects(loadTlsFromFiles(join(dir, 'noKey')), { code: 'ENOENT' });
  await t.rejects(loadTlsFromFiles(join(dir, 'caIsDir')), { code: 'EISDIR' }, 'errors other than absence surface');
  writeFileSync(join(withCa, 'tls.crt'), 'NEW');
  t.equal((await loadTlsFromFiles(withCa)).cert, 'NEW', 'read afresh on every call');
});
