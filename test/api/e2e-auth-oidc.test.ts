/**
 * `oidc` mode end to end with a local identity provider started here (its
 * discovery document and JWKS over HTTP on loopback) and tokens signed with
 * jose: valid, expired, within the clock skew, wrong audience and issuer,
 * unknown kid, rotated keys, roles.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose';
import { ANNOTATIONS } from '../../lib/contract.js';
import { readSettings } from '../../lib/config/environment.js';
import { createAuthenticator } from '../../api/auth/authenticator.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { jobIdOf, startApiHarness, type ApiResponse } from '../helpers/api-e2e.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { everyJobRoute, withBearer } from '../helpers/job-routes.js';

const NS = 'auth-oidc';
const AUDIENCE = 'k8s-job-manager';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}
async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

// The identity provider: what it publishes can change (key rotation); every JWKS fetch is counted.
let published: SigningKey[] = [await signingKey('key-1')];
let jwksFetches = 0;
const idp = http.createServer((request, response) => {
  const base = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  response.setHeader('content-type', 'application/json');
  if (request.url === '/.well-known/openid-configuration') response.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/keys` }));
  else if (request.url === '/keys') {
    jwksFetches += 1;
    response.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  } else response.writeHead(404).end('{}');
});
await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => idp.close(() => resolve())));
const ISSUER = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
const KEY_1 = published[0]!;

interface Claims {
  sub?: string;
  groups?: string[];
  aud?: string;
  iss?: string;
  /** Seconds from now; negative: in the past. */
  expiresIn?: number;
}
function token(key: SigningKey, { sub = 'ann', groups = ['scientists'], aud = AUDIENCE, iss = ISSUER, expiresIn = 300 }: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ groups })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject(sub)
    .setAudience(aud)
    .setIssuer(iss)
    .setIssuedAt(now - 60)
    .setExpirationTime(now + expiresIn)
    .sign(key.privateKey);
}

const env = {
  PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'oidc',
  PYGEOAPI_K8S_MANAGER_OIDC_ISSUER: ISSUER,
  PYGEOAPI_K8S_MANAGER_OIDC_AUDIENCE: AUDIENCE,
  PYGEOAPI_K8S_MANAGER_OIDC_OPERATOR_ROLES: 'ops',
  PYGEOAPI_K8S_MANAGER_OIDC_USER_ROLES: 'scientists',
};
const cluster = await startTestCluster(t, { namespaces: [NS] });
const api = await startApiHarness(t, {
  cluster,
  namespace: NS,
  configFile: path.join(API_FIXTURES, 'auth-processes.yaml'),
  env,
  // As PYGEOAPI_K8S_MANAGER_AUTH_MODE makes it, with a shorter key-refetch cooldown so rotation shows within the test.
  authenticator: (_config, kubeConfig) => createAuthenticator({ settings: readSettings(env).auth, kubeConfig, namespace: NS, oidcKeyCooldownMs: 2_000 }),
});

const as = (jwt: string) => ({ headers: { authorization: `Bearer ${jwt}` } });
function refused(t: Test, response: ApiResponse, what: string): void {
  t.equal(response.status, 401, `${what}: 401`);
  t.equal(response.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager", error="invalid_token"', `${what}: invalid_token`);
  t.match(response.json(), { status: 401, title: 'Unauthorized' });
}

t.test('a valid token: the subject owns what it executes', async (t) => {
  const ann = await token(KEY_1);
  t.equal((await api.request('GET', '/jobs', as(ann))).status, 200);
  const executed = await api.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'x' } }, headers: { ...as(ann).headers, prefer: 'respond-async' } });
  t.equal(executed.status, 201);
  const id = jobIdOf(executed.headers.get('location'));
  const job = (await api.batch.listNamespacedJob({ namespace: NS })).items.find((j) => j.metadata?.annotations?.[ANNOTATIONS.identifier] === id);
  t.equal(job?.metadata?.annotations?.[ANNOTATIONS.owner], 'ann');
  t.equal((await api.request('GET', `/jobs/${id}`, as(await token(KEY_1, { sub: 'ben' })))).status, 404, 'another subject does not see it');
  t.equal((await api.request('GET', `/jobs/${id}/logs`, as(ann))).status, 403, 'a user reads no logs');
  t.equal((await api.request('GET', `/jobs/${id}/logs`, as(await token(KEY_1, { sub: 'olga', groups: ['ops'] })))).status, 200, 'an operator does');
  t.equal((await api.request('GET', '/jobs', as(await token(KEY_1, { sub: 'guest', groups: ['visitors'] })))).status, 403, 'valid, but no role: 403');
});

t.test('no token, or one that is not a JWT of the issuer: 401 on every job route', async (t) => {
  const someId = '00000000-0000-4000-8000-000000000000';
  for (const route of everyJobRoute(someId)) {
    const none = await api.request(route.method, route.path, route.options);
    t.equal(none.status, 401, `${route.method} ${route.path} anonymous`);
    t.equal(none.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager"');
    const wrong = await api.request(route.method, route.path, withBearer(route, await token(KEY_1, { aud: 'another-client' })));
    t.equal(wrong.status, 401, `${route.method} ${route.path} with a token for another audience`);
    t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager", error="invalid_token"');
  }
});

t.test('expiry, with the clock skew', async (t) => {
  refused(t, await api.request('GET', '/jobs', as(await token(KEY_1, { expiresIn: -120 }))), 'expired two minutes ago');
  t.equal((await api.request('GET', '/jobs', as(await token(KEY_1, { expiresIn: -10 })))).status, 200, 'expired 10 s ago: within the 30 s skew');
});

t.test('audience and issuer', async (t) => {
  refused(t, await api.request('GET', '/jobs', as(await token(KEY_1, { aud: 'another-client' }))), 'wrong audience');
  refused(t, await api.request('GET', '/jobs', as(await token(KEY_1, { iss: 'http://127.0.0.1:1' }))), 'wrong issuer');
  const [header, payload] = (await token(KEY_1)).split('.');
  refused(t, await api.request('GET', '/jobs', as(`${header}.${payload}.AAAA`)), 'bad signature');
  refused(t, await api.request('GET', '/jobs', as('not.a.jwt')), 'not a JWT');
});

t.test('an unknown kid is refused, and refetches the keys at most once per cooldown', async (t) => {
  const stranger = await signingKey('stranger');
  const before = jwksFetches;
  const started = Date.now();
  for (let i = 0; i < 5; i += 1) refused(t, await api.request('GET', '/jobs', as(await token(stranger))), `unknown kid, try ${i + 1}`);
  // Five refusals within one cooldown cost at most one fetch (more only if the machine took longer than the cooldown).
  const windows = Math.ceil((Date.now() - started) / 2_000);
  t.ok(jwksFetches - before <= windows, `${jwksFetches - before} fetches in ${windows} cooldown window(s)`);
  const sameKid = { ...stranger, kid: KEY_1.kid };
  refused(t, await api.request('GET', '/jobs', as(await token(sameKid))), 'a known kid with a key that is not the published one');
});

t.test('keys rotate: the new key works once published, the removed one stops', async (t) => {
  const key2 = await signingKey('key-2');
  published = [key2];
  const withNew = await token(key2);
  await waitFor(async () => ((await api.request('GET', '/jobs', as(withNew))).status === 200 ? true : undefined), {
    what: 'a token of the new key to be accepted',
    timeoutMs: 20_000,
    intervalMs: 250,
  });
  const withOld = await token(KEY_1);
  await waitFor(async () => ((await api.request('GET', '/jobs', as(withOld))).status === 401 ? true : undefined), {
    what: 'a token of the removed key to be refused',
    timeoutMs: 20_000,
    intervalMs: 250,
  });
  t.pass('rotated');
});

t.test('the identity provider unreachable: 503, not 401 or 500', async (t) => {
  published = [];
  const down = http.createServer();
  await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
  const port = (down.address() as AddressInfo).port;
  await new Promise<void>((resolve) => down.close(() => resolve()));
  const unreachable = { ...env, PYGEOAPI_K8S_MANAGER_OIDC_ISSUER: `http://127.0.0.1:${port}` };
  const auth = createAuthenticator({ settings: readSettings(unreachable).auth, kubeConfig: api.kubeConfig, namespace: NS });
  const failure = await auth.identify(`Bearer ${await token(KEY_1)}`).then(
    () => undefined,
    (error: unknown) => error as { status?: number; message?: string },
  );
  t.equal(failure?.status, 503, failure?.message ?? "no error");
});
