/**
 * kube-access.ts applies the configurations it reads exactly as client-node's
 * KubeConfig does (same server, TLS material, headers, namespace), in the
 * cluster and from kubeconfig files, and leaves the rest to client-node.
 */
import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { lightFromKubeconfig, lightInCluster, loadKubeAccessFromFile, type KubeAccess } from '../../lib/kube/kube-access.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** What a request would be sent with. */
async function applied(access: KubeAccess) {
  const opts: https.RequestOptions = {};
  const refused = await access.applyToHTTPSOptions(opts).then(
    () => undefined,
    (error: Error) => error.message,
  );
  if (refused) return { refused };
  const context = access.getContextObject(access.getCurrentContext());
  return {
    server: access.getCurrentCluster()?.server,
    namespace: context?.namespace,
    ca: opts.ca?.toString(),
    cert: opts.cert?.toString(),
    key: opts.key?.toString(),
    headers: opts.headers,
    auth: opts.auth,
    rejectUnauthorized: opts.rejectUnauthorized,
    servername: opts.servername,
  };
}

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, namespace?: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'here',
    contexts: [
      { name: 'other', context: { cluster: 'c2', user: 'u2' } },
      { name: 'here', context: { cluster: 'c', user: 'u', ...(namespace ? { namespace } : {}) } },
    ],
    clusters: [
      { name: 'c2', cluster: { server: 'https://elsewhere:6443' } },
      { name: 'c', cluster },
    ],
    users: [
      { name: 'u2', user: { token: 'not-this-one' } },
      { name: 'u', user },
    ],
  });
}

t.test('kubeconfig files: read here, applied as client-node applies them', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kube-access-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'ca.pem'), 'CA FROM FILE');
  await writeFile(path.join(dir, 'client.pem'), 'CERT FROM FILE');
  await writeFile(path.join(dir, 'client.key'), 'KEY FROM FILE');
  await writeFile(path.join(dir, 'token'), 'token-from-file');
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string?]> = [
    ['CA data and a token, a namespace', { server: 'https://api.example:6443/', 'certificate-authority-data': b64('CA DATA') }, { token: 'abc' }, 'jobs'],
    ['files relative to the kubeconfig, client certificate', { server: 'https://10.0.0.1', 'certificate-authority': 'ca.pem' }, { 'client-certificate': 'client.pem', 'client-key': 'client.key' }],
    ['absolute token file, TLS server name', { server: 'https://h:1', 'certificate-authority': path.join(dir, 'ca.pem'), 'tls-server-name': 'kubernetes' }, { 'token-file': path.join(dir, 'token') }],
    ['certificate data, impersonation', { server: 'https://h', 'insecure-skip-tls-verify': true }, { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY'), as: 'someone' }],
    ['basic auth over http, TLS verification off', { server: 'http://localhost:8080', 'insecure-skip-tls-verify': true }, { username: 'me', password: 'secret' }],
    ['http with TLS verification on: refused', { server: 'http://localhost:8080' }, { token: 'x' }],
    ['no credentials', { server: 'https://h' }, {}],
  ];
  for (const [what, cluster, user, namespace] of cases) {
    const file = path.join(dir, `${what.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, kubeconfig(cluster, user, namespace));
    const light = await lightFromKubeconfig(kubeconfig(cluster, user, namespace), dir);
    t.ok(light, `${what}: read here`);
    const reference = new KubeConfig();
    reference.loadFromFile(file);
    t.same(await applied(light!), await applied(reference), `${what}: as client-node applies it`);
    t.notOk((await loadKubeAccessFromFile(file)) instanceof KubeConfig, `${what}: loadKubeAccessFromFile reads it here`);
  }
});

t.test('what is left to client-node', async (t) => {
  const cases: Array<[string, string]> = [
    ['an exec plugin', kubeconfig({ server: 'https://h' }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'get-token' } })],
    ['an auth provider', kubeconfig({ server: 'https://h' }, { 'auth-provider': { name: 'oidc', config: {} } })],
    ['a proxy', kubeconfig({ server: 'https://h', 'proxy-url': 'http://proxy:3128' }, { token: 'x' })],
    ['an unknown user field', kubeconfig({ server: 'https://h' }, { 'some-new-field': 1 })],
    ['a context naming a missing user', kubeconfig({ server: 'https://h' }, {}).replace('user: u\n', 'user: nobody\n')],
    ['no current context', 'apiVersion: v1\nkind: Config\n'],
    ['not a mapping', '- a\n- b\n'],
  ];
  for (const [what, source] of cases) t.equal(await lightFromKubeconfig(source, '/'), undefined, what);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kube-access-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  await writeFile(file, cases[0]![1]);
  t.ok((await loadKubeAccessFromFile(file)) instanceof KubeConfig, 'loadKubeAccessFromFile hands an exec plugin to client-node');
});

t.test('in the cluster: as client-node loadFromCluster, the token read again as it rotates', async (t) => {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'kube-access-sa-'));
  t.teardown(() => rm(prefix, { recursive: true, force: true }));
  const directory = path.join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(directory, { recursive: true });
  await writeFile(path.join(directory, 'ca.crt'), 'CLUSTER CA');
  await writeFile(path.join(directory, 'token'), 'first-token');
  await writeFile(path.join(directory, 'namespace'), 'manager');
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  t.teardown(() => {
    for (const [name, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  for (const [host, port] of [['10.96.0.1', '443'], ['fd00::1', '6443'], ['kubernetes', '8080']] as const) {
    process.env.KUBERNETES_SERVICE_HOST = host;
    process.env.KUBERNETES_SERVICE_PORT = port;
    const reference = new KubeConfig();
    reference.loadFromCluster(prefix);
    t.same(await applied(lightInCluster(process.env, directory)), await applied(reference), `${host}:${port}`);
  }
  process.env.KUBERNETES_SERVICE_PORT = '443';
  const access = lightInCluster(process.env, directory);
  t.same((await applied(access)).headers, { Authorization: 'Bearer first-token' });
  await writeFile(path.join(directory, 'token'), 'second-token');
  t.same((await applied(access)).headers, { Authorization: 'Bearer first-token' }, 'a token is used for a minute');
  const later = Date.now() + 61_000;
  const realNow = Date.now;
  Date.now = () => later;
  t.teardown(() => {
    Date.now = realNow;
  });
  t.same((await applied(access)).headers, { Authorization: 'Bearer second-token' }, 'then read again');
});
