/**
 * The Secret/webhook-config edges against small in-memory stand-ins that keep
 * resourceVersions and answer 404/409 like the API server; the end-to-end
 * runs against local-cluster come later.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { ApiException, type V1MutatingWebhookConfiguration, type V1Secret } from '@kubernetes/client-node';
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

const DAY = 24 * 60 * 60 * 1000;
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (days: number): (() => Date) => () => new Date(T0.getTime() + days * DAY);
const OPTIONS: EnsureTlsSecretOptions = { namespace: 'jobs', name: 'hook-tls', serviceName: 'hook', now: at(0) };

function apiError(code: number): ApiException<unknown> {
  return new ApiException(code, `HTTP ${code}`, { code }, {});
}

class FakeSecrets {
  readonly store = new Map<string, V1Secret>();
  writes = 0;
  private version = 0;
  /** Runs once before the next write: another replica getting there first. */
  beforeNextWrite: (() => Promise<void>) | undefined;

  async readNamespacedSecret({ name, namespace }: { name: string; namespace: string }): Promise<V1Secret> {
    const found = this.store.get(`${namespace}/${name}`);
    if (!found) throw apiError(404);
    return structuredClone(found);
  }

  async createNamespacedSecret({ namespace, body }: { namespace: string; body: V1Secret }): Promise<V1Secret> {
    await this.interleave();
    const key = `${namespace}/${body.metadata?.name}`;
    if (this.store.has(key)) throw apiError(409);
    return this.save(key, body);
  }

  async replaceNamespacedSecret({ name, namespace, body }: { name: string; namespace: string; body: V1Secret }): Promise<V1Secret> {
    await this.interleave();
    const key = `${namespace}/${name}`;
    const current = this.store.get(key);
    if (!current) throw apiError(404);
    if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) throw apiError(409);
    return this.save(key, body);
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

t.test('missing: created, then found as is', async (t) => {
  const api = new FakeSecrets();
  const first = await ensureTlsSecret(api, OPTIONS);
  t.equal(first.action, 'created');
  const stored = api.store.get('jobs/hook-tls');
  t.equal(stored?.type, 'kubernetes.io/tls');
  t.equal(stored?.metadata?.labels?.[TLS_SECRET_MANAGED_BY_LABEL], TLS_SECRET_MANAGED_BY);
  t.same(Object.keys(stored?.data ?? {}).sort(), ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
  t.equal(decoded(stored, 'tls.crt'), first.material.cert);
  t.equal(decoded(stored, 'ca.crt'), first.material.ca);
  t.notOk('caKey' in first.material, 'the CA key stays in the Secret');
  t.ok(new X509Certificate(first.material.cert).verify(new X509Certificate(first.material.ca).publicKey));
  t.ok(parseCertificate(first.material.cert).dnsNames.includes('hook.jobs.svc'));

  const second = await ensureTlsSecret(api, { ...OPTIONS, now: at(5) });
  t.same(second, { material: first.material, action: 'existing' });
  t.equal(api.writes, 1);
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
  t.equal(api.writes, 1);
});

t.test('renewal: a new serving certificate under the same CA', async (t) => {
  const api = new FakeSecrets();
  const first = await ensureTlsSecret(api, OPTIONS);
  const renewed = await ensureTlsSecret(api, { ...OPTIONS, now: at(25) });
  t.equal(renewed.action, 'renewed');
  t.equal(renewed.material.ca, first.material.ca, 'same CA, caBundle unchanged');
  t.not(parseCertificate(renewed.material.cert).serialNumber, parseCertificate(first.material.cert).serialNumber);
  t.equal(api.store.get('jobs/hook-tls')?.metadata?.resourceVersion, '2');
  t.equal(decoded(api.store.get('jobs/hook-tls'), 'tls.crt'), renewed.material.cert);
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
  t.same(loser, { material: winner?.material, action: 'existing' });
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
  const caKey = createPrivateKey(decoded(api.store.get('jobs/hook-tls'), 'ca.key'));
  t.ok(new X509Certificate(bundle[0]!).checkPrivateKey(caKey), 'ca.key belongs to the first (active) CA');

  // The next serving renewal keeps the new CA and drops the old one.
  const next = await ensureTlsSecret(api, { ...OPTIONS, now: at(7 * 365 + 25) });
  t.equal(next.action, 'renewed');
  t.same(splitPemBundle(next.material.ca), [bundle[0]]);
});

t.test('judging what is there', async (t) => {
  const ca = createCertificateAuthority({ commonName: 'c', now: T0 });
  const leaf = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs', now: T0 });
  const otherLeaf = createServingCertificate({ ca, serviceName: 'x', namespace: 'jobs', now: T0 });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const secret = (data: Record<string, string>, ours = true): V1Secret => ({
    metadata: { name: 'hook-tls', namespace: 'jobs', ...(ours ? { labels: { [TLS_SECRET_MANAGED_BY_LABEL]: TLS_SECRET_MANAGED_BY } } : {}) },
    type: 'kubernetes.io/tls',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  });
  const full = { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.certPem, 'ca.key': ca.keyPem };
  const wanted = { dnsNames: ['hook', 'hook.jobs.svc'], renewal: { renewBeforeFraction: 1 / 3 } };
  const now = at(1)();

  const cases: Array<[string, V1Secret | undefined, string]> = [
    ['missing', undefined, 'missing'],
    ['complete', secret(full), 'use'],
    ['foreign, even when due', secret({ 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem }, false), 'use'],
    ['no CA key', secret({ ...full, 'ca.key': '' }), 'no usable CA'],
    ['key of another certificate', secret({ ...full, 'tls.key': otherLeaf.keyPem }), 'no usable key pair'],
    ['garbage key', secret({ ...full, 'tls.key': 'junk' }), 'no usable key pair'],
    ['names changed', secret({ ...full, 'tls.crt': otherLeaf.certPem, 'tls.key': otherLeaf.keyPem }), 'names changed'],
    ['ca.key of another CA certificate', secret({ ...full, 'ca.crt': createCertificateAuthority({ commonName: 'x' }).certPem }), 'no usable CA'],
  ];
  for (const [what, s, want] of cases) {
    const verdict = judgeTlsSecret(s, wanted, now);
    t.equal(verdict.kind === 'use' ? 'use' : verdict.reason, want, what);
  }

  const strangerCa = createCertificateAuthority({ commonName: 'stranger' });
  const strangerLeaf = createServingCertificate({ ca: strangerCa, serviceName: 'hook', namespace: 'jobs' });
  const mixed = judgeTlsSecret(secret({ ...full, 'tls.crt': strangerLeaf.certPem, 'tls.key': strangerLeaf.keyPem }), wanted, now);
  t.match(mixed, { kind: 'issue', reason: 'certificate not issued by the active CA' });
  t.match(judgeTlsSecret(secret(full), wanted, at(25)()), { kind: 'issue', reason: 'certificate due for renewal' });
  t.match(judgeTlsSecret(secret(full), { ...wanted, ips: ['::1'] }, now), { kind: 'issue', reason: 'names changed' }, 'an IP added');
  const withIp = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs', extraIps: ['::1'], now: T0 });
  const ipSecret = secret({ ...full, 'tls.crt': withIp.certPem, 'tls.key': withIp.keyPem });
  t.match(judgeTlsSecret(ipSecret, { ...wanted, ips: ['0:0:0:0:0:0:0:1'] }, now), { kind: 'use' }, 'IPs compare by value');
  t.throws(() => judgeTlsSecret(secret({ 'tls.crt': leaf.certPem }, false), wanted, now), /not managed by k8s-job-manager/);
});

t.test('a foreign Secret is used and never rewritten', async (t) => {
  const api = new FakeSecrets();
  const ca = createCertificateAuthority({ commonName: 'cert-manager-ish' });
  const leaf = createServingCertificate({ ca, serviceName: 'hook', namespace: 'jobs' });
  api.store.set('jobs/hook-tls', {
    metadata: { name: 'hook-tls', namespace: 'jobs', resourceVersion: '9' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(leaf.certPem).toString('base64'), 'tls.key': Buffer.from(leaf.keyPem).toString('base64') },
  });
  const result = await ensureTlsSecret(api, { ...OPTIONS, now: at(400) });
  t.same(result, { material: { cert: leaf.certPem, key: leaf.keyPem, ca: '' }, action: 'existing' });
  t.equal(api.writes, 0);
});

t.test('errors other than a lost race surface; endless races give up', async (t) => {
  const failing = new FakeSecrets();
  failing.readNamespacedSecret = async () => {
    throw apiError(403);
  };
  await t.rejects(ensureTlsSecret(failing, OPTIONS), { code: 403 });

  const contended = new FakeSecrets();
  let creates = 0;
  contended.createNamespacedSecret = async () => {
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
  const api = {
    readMutatingWebhookConfiguration: async ({ name }: { name: string }) => {
      calls.push(`read ${name}`);
      return structuredClone(config);
    },
    patchMutatingWebhookConfiguration: async ({ name, body }: { name: string; body: jsonpatch.Operation[] }) => {
      calls.push(`patch ${name}`);
      if (failNext) {
        failNext = false;
        throw apiError(422);
      }
      config = jsonpatch.applyPatch(config, body, true, false).newDocument;
      return config;
    },
  };
  const pem = createCertificateAuthority({ commonName: 'c' }).certPem;
  t.equal(await patchWebhookCaBundle(api, 'k8s-job-manager', pem), true);
  t.same(calls, ['read k8s-job-manager', 'patch k8s-job-manager', 'read k8s-job-manager', 'patch k8s-job-manager']);
  t.same(config.webhooks?.map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString()), [pem, pem]);
  t.equal(await patchWebhookCaBundle(api, 'k8s-job-manager', pem), false, 'nothing to change');

  api.patchMutatingWebhookConfiguration = async () => {
    throw apiError(403);
  };
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
