/**
 * Access control end to end in `token` mode, against local-cluster: who may
 * list, read, read the logs of and dismiss which job; 401/403/404 as OGC
 * exceptions; job ids checked before lookup; owners on Jobs; a Job that
 * claims another's id; CORS from listed and unlisted origins; the seed's
 * `token` input.
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS, MANAGED_LABEL } from '../../lib/contract.js';
import { shellJob, startTestCluster } from '../helpers/local-cluster.js';
import { API_TOKEN, jobIdOf, startApiHarness, type ApiResponse } from '../helpers/api-e2e.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { everyJobRoute, withBearer } from '../helpers/job-routes.js';

const NS = 'auth-token';
const ALICE = 'alice-token-Qw3rTy7Ui9Op2As4';
const BOB = 'bob-token-Zx8Cv6Bn4Mm2Lk0J';
const OLGA = 'olga-token-Hg5Fd3Sa1Pp9Oo7I';

const cluster = await startTestCluster(t, { namespaces: [NS] });
const api = await startApiHarness(t, {
  cluster,
  namespace: NS,
  configFile: path.join(API_FIXTURES, 'auth-processes.yaml'),
  env: {
    PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'token',
    PYGEOAPI_K8S_MANAGER_AUTH_TOKENS: `alice:user:${ALICE},bob:user:${BOB}\nolga:operator:${OLGA}`,
  },
});

const as = (token: string | undefined, extra: Record<string, string> = {}) => ({ headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra } });

function exception(t: Test, response: ApiResponse, status: number, what: string): Record<string, unknown> {
  t.equal(response.status, status, `${what}: ${status}`);
  t.match(response.headers.get('content-type'), /application\/problem\+json/, `${what}: an exception document`);
  const body = response.json();
  t.equal(body.status, status, `${what}: status in the body`);
  return body;
}

async function execute(token: string, processId: string, inputs: Record<string, unknown>): Promise<string> {
  const response = await api.request('POST', `/processes/${processId}/execution`, { body: { inputs }, ...as(token, { prefer: 'respond-async' }) });
  if (response.status !== 201) throw new Error(`executing ${processId}: ${response.status} ${response.text}`);
  return jobIdOf(response.headers.get('location'));
}

async function waitForStatus(token: string, jobId: string, statuses: string[]): Promise<void> {
  await waitFor(
    async () => {
      const response = await api.request('GET', `/jobs/${jobId}`, as(token));
      return response.status === 200 && statuses.includes(String(response.json().status)) ? true : undefined;
    },
    { what: `job ${jobId} to be ${statuses.join('/')}`, timeoutMs: 30_000, intervalMs: 50 },
  );
}

const alicesJob = await execute(ALICE, 'echo', { stringInput: 'from alice' });
const bobsJob = await execute(BOB, 'echo', { stringInput: 'from bob', pause: 300 });
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

t.test('without valid credentials every job route answers 401 with a Bearer challenge', async (t) => {
  const routes: Array<[string, string]> = [
    ['GET', '/jobs'],
    ['GET', `/jobs/${alicesJob}`],
    ['GET', `/jobs/${alicesJob}/results`],
    ['GET', `/jobs/${alicesJob}/logs`],
    ['DELETE', `/jobs/${alicesJob}`],
    ['GET', `/jobs/${UNKNOWN}`],
    ['POST', '/processes/echo/execution'],
  ];
  for (const [method, route] of routes) {
    const missing = await api.request(method, route, method === 'POST' ? { body: { inputs: { stringInput: 'x' } } } : {});
    exception(t, missing, 401, `${method} ${route} without a token`);
    t.equal(missing.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager"');
    const wrong = await api.request(method, route, { ...as(`${ALICE}x`), ...(method === 'POST' ? { body: { inputs: { stringInput: 'x' } } } : {}) });
    exception(t, wrong, 401, `${method} ${route} with an unknown token`);
    t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager", error="invalid_token"');
    const basic = await api.request(method, route, { headers: { authorization: 'Basic YWxpY2U6cGFzcw==' } });
    t.equal(basic.status, 401, `${method} ${route} with Basic credentials`);
  }
  t.notMatch(api.logText(), ALICE, 'no token in the log');
});

t.test('the HTML job pages, HEAD requests and the dismiss form answer 401 too', async (t) => {
  for (const route of [...everyJobRoute(alicesJob), ...everyJobRoute(UNKNOWN)]) {
    const what = `${route.method} ${route.path}`;
    const missing = await api.request(route.method, route.path, route.options);
    t.equal(missing.status, 401, `${what} without a token`);
    t.equal(missing.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager"', `${what}: the challenge`);
    t.notMatch(missing.text, 'from alice', `${what}: nothing of the job`);
    const wrong = await api.request(route.method, route.path, withBearer(route, `${ALICE}x`));
    t.equal(wrong.status, 401, `${what} with an unknown token`);
    t.equal(wrong.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager", error="invalid_token"');
  }
  t.equal((await api.batch.listNamespacedJob({ namespace: NS })).items.filter((j) => j.metadata?.annotations?.[ANNOTATIONS.identifier] === alicesJob).length, 1, 'the form dismissed nothing');
  const page = await api.request('GET', `/jobs/${alicesJob}?f=html`, as(ALICE, { accept: 'text/html' }));
  t.equal(page.status, 200, 'the owner gets the page');
  t.match(page.headers.get('content-type'), /text\/html/);
});

t.test('discovery stays public', async (t) => {
  for (const route of ['/', '/conformance', '/processes', '/processes/echo', '/api']) {
    t.equal((await api.request('GET', route)).status, 200, route);
  }
  t.notOk('warning' in (await api.request('GET', '/')).json(), 'no warning on the landing page with access control on');
});

t.test('none mode: a warning on the landing page and in the log', async (t) => {
  const open = await startApiHarness(t, { cluster, namespace: NS, configFile: path.join(API_FIXTURES, 'auth-processes.yaml') });
  t.match((await open.request('GET', '/')).json(), { warning: /Access control is off/ });
  t.match(open.logText(), /ACCESS CONTROL IS OFF/);
  t.equal((await open.request('GET', '/jobs')).status, 200, 'no credentials needed');
});

t.test('executions are owned by the token name', async (t) => {
  const job = (await api.batch.listNamespacedJob({ namespace: NS })).items.find((j) => j.metadata?.annotations?.[ANNOTATIONS.identifier] === alicesJob);
  t.equal(job?.metadata?.annotations?.[ANNOTATIONS.owner], 'alice');
  t.notMatch(JSON.stringify(job), ALICE, 'the token is not stored');
});

t.test("a user cannot see, read or dismiss another user's job: 404, as for a job that does not exist", async (t) => {
  await waitForStatus(ALICE, alicesJob, ['successful']);
  const list = (await api.request('GET', '/jobs?limit=100', as(BOB))).json<{ jobs: Array<{ jobID: string }> }>();
  t.same(list.jobs.map((j) => j.jobID), [bobsJob], "bob's list holds only his job");
  const missing = exception(t, await api.request('GET', `/jobs/${UNKNOWN}`, as(BOB)), 404, 'an unknown id');
  for (const [method, route] of [['GET', `/jobs/${alicesJob}`], ['GET', `/jobs/${alicesJob}/results`], ['DELETE', `/jobs/${alicesJob}`]] as const) {
    const body = exception(t, await api.request(method, route, as(BOB)), 404, `bob: ${method} ${route}`);
    t.same({ ...body, detail: String(body.detail).replace(alicesJob, UNKNOWN), instance: undefined }, { ...missing, instance: undefined }, 'the same answer as for an unknown id');
  }
  exception(t, await api.request('GET', `/jobs/${alicesJob}/logs`, as(BOB)), 403, "bob: another's logs (403 as for every id: logs are for operators)");
  await waitForStatus(ALICE, alicesJob, ['successful']);
});

t.test('a user reads and dismisses its own jobs, but not their logs', async (t) => {
  const list = (await api.request('GET', '/jobs?limit=100', as(ALICE))).json<{ jobs: Array<{ jobID: string }> }>();
  t.same(list.jobs.map((j) => j.jobID), [alicesJob]);
  const results = await api.request('GET', `/jobs/${alicesJob}/results`, as(ALICE));
  t.equal(results.status, 200);
  t.equal(results.text, 'from alice', 'her results (the one output, raw)');
  exception(t, await api.request('GET', `/jobs/${alicesJob}/logs`, as(ALICE)), 403, 'own logs');
  const dismissed = await api.request('DELETE', `/jobs/${bobsJob}`, as(BOB));
  t.equal(dismissed.status, 200, 'bob dismisses his running job');
  t.equal(dismissed.json().status, 'dismissed');
});

t.test('an operator sees every job and reads logs', async (t) => {
  const list = (await api.request('GET', '/jobs?limit=100', as(OLGA))).json<{ jobs: Array<{ jobID: string }> }>();
  t.same(new Set(list.jobs.map((j) => j.jobID)), new Set([alicesJob, bobsJob]));
  const logs = await api.request('GET', `/jobs/${alicesJob}/logs`, as(OLGA));
  t.equal(logs.status, 200);
  t.match(logs.text, /==> pod /);
});

t.test('job ids are checked before any lookup', async (t) => {
  for (const id of ['..%2F..%2Fsecrets', 'not-a-uuid', `${alicesJob.toUpperCase()}`, `${alicesJob}x`]) {
    const body = exception(t, await api.request('GET', `/jobs/${id}`, as(OLGA)), 404, id);
    t.match(body.type, /no-such-job/);
  }
});

t.test('DELETE only where the process allows dismiss, and only for labelled Jobs', async (t) => {
  const noDismiss = await execute(ALICE, 'no-dismiss', {});
  exception(t, await api.request('DELETE', `/jobs/${noDismiss}`, as(ALICE)), 403, "a job whose process has no 'dismiss'");
  exception(t, await api.request('DELETE', `/jobs/${noDismiss}`, as(OLGA)), 403, 'not even for an operator');

  // A Job the Python manager made (no label): listed, readable, never deleted by the API.
  const pythonId = '22222222-3333-4444-8555-666666666666';
  const python = shellJob(`pygeoapi-job-${pythonId}`, 'echo python');
  python.metadata = { name: `pygeoapi-job-${pythonId}`, annotations: { [ANNOTATIONS.identifier]: pythonId, [ANNOTATIONS.processId]: 'echo', [ANNOTATIONS.owner]: 'alice' } };
  await api.batch.createNamespacedJob({ namespace: NS, body: python });
  await waitForStatus(ALICE, pythonId, ['accepted', 'running', 'successful']);
  exception(t, await api.request('DELETE', `/jobs/${pythonId}`, as(OLGA)), 403, 'an unlabelled Job');
  t.ok(await api.batch.readNamespacedJob({ namespace: NS, name: `pygeoapi-job-${pythonId}` }), 'still there');
});

t.test("a Job claiming another Job's id does not take it over", async (t) => {
  // Made straight against the cluster (as when the webhook, which fails open, is down).
  const spoof: V1Job = shellJob('spoofer', 'echo spoof');
  spoof.metadata = {
    name: 'spoofer',
    labels: { [MANAGED_LABEL]: 'true' },
    annotations: { [ANNOTATIONS.identifier]: alicesJob, [ANNOTATIONS.owner]: 'bob', [ANNOTATIONS.processId]: 'no-dismiss' },
  };
  await api.batch.createNamespacedJob({ namespace: NS, body: spoof });
  await waitFor(() => (api.logText().includes('a Job claims the id of another Job; ignored') ? true : undefined), { what: 'the claim to be seen', timeoutMs: 20_000 });
  const alice = await api.request('GET', `/jobs/${alicesJob}`, as(ALICE));
  t.equal(alice.status, 200, 'alice still sees her job');
  t.equal(alice.json().processID, 'echo', 'and it is still hers');
  exception(t, await api.request('GET', `/jobs/${alicesJob}`, as(BOB)), 404, 'bob gained nothing');
  await api.batch.deleteNamespacedJob({ namespace: NS, name: 'spoofer', propagationPolicy: 'Background' });
  await waitFor(async () => ((await api.batch.listNamespacedJob({ namespace: NS })).items.some((j) => j.metadata?.name === 'spoofer') ? undefined : true), { what: 'the spoofer to go', timeoutMs: 20_000 });
  t.equal((await api.request('GET', `/jobs/${alicesJob}`, as(ALICE))).status, 200, "the claimant's deletion leaves alice's job alone");
});

t.test('CORS: only the listed origin gets allow headers', async (t) => {
  const preflight = (origin: string) =>
    api.request('OPTIONS', '/jobs', { headers: { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' } });
  const listed = await preflight('https://viewer.example');
  t.equal(listed.status, 204);
  t.equal(listed.headers.get('access-control-allow-origin'), 'https://viewer.example');
  t.match(listed.headers.get('access-control-allow-methods'), /DELETE/);
  t.match(listed.headers.get('access-control-allow-headers'), /authorization/);
  t.equal(listed.headers.get('access-control-allow-credentials'), null, 'no credentials unless configured');
  const other = await preflight('https://evil.example');
  t.equal(other.headers.get('access-control-allow-origin'), null, 'an unlisted origin gets no allow headers');
  t.equal(other.headers.get('access-control-allow-methods'), null);
  const read = await api.request('GET', '/processes', { headers: { origin: 'https://viewer.example' } });
  t.equal(read.headers.get('access-control-allow-origin'), 'https://viewer.example');
  t.match(read.headers.get('vary'), /Origin/);
  const prefix = await api.request('GET', '/processes', { headers: { origin: 'https://viewer.example.evil' } });
  t.equal(prefix.headers.get('access-control-allow-origin'), null, 'exact match only');
});

t.test("the seed's token input keeps guarding check_auth processes", async (t) => {
  exception(t, await api.request('POST', '/processes/checked/execution', { body: { inputs: {} }, ...as(ALICE) }), 401, 'no token input');
  exception(t, await api.request('POST', '/processes/checked/execution', { body: { inputs: { token: 'wrong' } }, ...as(ALICE) }), 403, 'wrong token input');
  const ok = await api.request('POST', '/processes/checked/execution', { body: { inputs: { token: API_TOKEN } }, ...as(ALICE) });
  t.equal(ok.status, 201, 'bearer and token input');
});
