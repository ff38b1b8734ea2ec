/**
 * `kubernetes` mode end to end: callers bring ServiceAccount tokens minted by
 * local-cluster, the API checks them with real TokenReviews and authorises
 * every request with SubjectAccessReviews against RBAC that local-cluster
 * enforces. The webhook, registered in the cluster, stamps the owner of a
 * Job made with kubectl from the AdmissionReview's userInfo.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { ANNOTATIONS, MANAGED_LABEL } from '../../lib/contract.js';
import { startEnforcingCluster } from '../helpers/local-cluster.js';
import { jobIdOf, startApiHarness, type ApiResponse } from '../helpers/api-e2e.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { everyJobRoute, withBearer } from '../helpers/job-routes.js';
import { startClusterWebhook } from '../helpers/cluster-webhook.js';

const NS = 'jobs';
const SYSTEM_NS = 'k8s-job-manager';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const sa = (name: string) => `system:serviceaccount:${NS}:${name}`;

const cluster = await startEnforcingCluster(t, { namespaces: [NS, SYSTEM_NS] });
const admin = cluster.kubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);

// The webhook, as deployed: TLS from its Secret, the shipped configuration. The API runs as the administrator here, so that is the trusted creator.
await startClusterWebhook(t, {
  cluster,
  systemNamespace: SYSTEM_NS,
  jobsNamespace: NS,
  settings: { archiveLogs: false, jobNamePrefix: 'pygeoapi-job-', trustedJobCreators: ['kubernetes-admin'] },
});

async function role(name: string, rules: V1PolicyRule[]): Promise<void> {
  await rbac.createNamespacedRole({ namespace: NS, body: { metadata: { name }, rules } });
}
async function account(name: string, roles: string[]): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name } } });
  for (const r of roles) {
    await rbac.createNamespacedRoleBinding({
      namespace: NS,
      body: { metadata: { name: `${name}-${r}` }, roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: r }, subjects: [{ kind: 'ServiceAccount', name, namespace: NS }] },
    });
  }
  return cluster.createToken(NS, name);
}
const JOBS: V1PolicyRule = { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'delete'] };
await role('job-user', [JOBS]);
await role('job-reader', [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list'] }]);
await role('log-reader', [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }]);
const ALICE = await account('alice', ['job-user']);
const BOB = await account('bob', ['job-user']);
const OLGA = await account('olga', ['job-user', 'log-reader']);
const READER = await account('reader', ['job-reader']);
const NOBODY = await account('nobody', []);

const api = await startApiHarness(t, {
  cluster,
  namespace: NS,
  configFile: path.join(API_FIXTURES, 'auth-processes.yaml'),
  env: { PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'kubernetes', PYGEOAPI_K8S_MANAGER_AUTH_CACHE_SECONDS: '2' },
});

const as = (token: string | undefined, extra: Record<string, string> = {}) => ({ headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra } });

function status(t: Test, response: ApiResponse, expected: number, what: string): void {
  t.equal(response.status, expected, `${what}: ${expected}`);
  if (expected >= 400) t.match(response.headers.get('content-type'), /application\/problem\+json/, `${what}: an exception document`);
}

async function execute(token: string, inputs: Record<string, unknown>): Promise<string> {
  const response = await api.request('POST', '/processes/echo/execution', { body: { inputs }, ...as(token, { prefer: 'respond-async' }) });
  if (response.status !== 201) throw new Error(`executing: ${response.status} ${response.text}`);
  return jobIdOf(response.headers.get('location'));
}

const alicesJob = await execute(ALICE, { stringInput: 'alice' });
const bobsJob = await execute(BOB, { stringInput: 'bob' });

t.test('tokens are checked with a TokenReview: none or a bad one is 401 on every job route', async (t) => {
  for (const route of everyJobRoute(alicesJob)) {
    const none = await api.request(route.method, route.path, route.options);
    t.equal(none.status, 401, `${route.method} ${route.path} anonymous`);
    t.equal(none.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager"');
    const forged = await api.request(route.method, route.path, withBearer(route, `${ALICE.slice(0, -4)}AAAA`));
    t.equal(forged.status, 401, `${route.method} ${route.path} with a forged token`);
    t.equal(forged.headers.get('www-authenticate'), 'Bearer realm="k8s-job-manager", error="invalid_token"');
  }
});

t.test('a ServiceAccount without rights gets 403 on every job route, whatever the id', async (t) => {
  for (const [method, route] of [['GET', '/jobs'], ['GET', `/jobs/${alicesJob}`], ['GET', `/jobs/00000000-0000-4000-8000-000000000000`], ['DELETE', `/jobs/${alicesJob}`]] as const) {
    status(t, await api.request(method, route, as(NOBODY)), 403, `nobody: ${method} ${route}`);
  }
  status(t, await api.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'x' } }, ...as(NOBODY) }), 403, 'nobody executes');
  status(t, await api.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'x' } }, ...as(READER) }), 403, 'get/list without create');
});

t.test('executions are owned by the ServiceAccount', async (t) => {
  const jobs = (await api.batch.listNamespacedJob({ namespace: NS })).items;
  const owner = (id: string) => jobs.find((j) => j.metadata?.annotations?.[ANNOTATIONS.identifier] === id)?.metadata?.annotations?.[ANNOTATIONS.owner];
  t.equal(owner(alicesJob), sa('alice'));
  t.equal(owner(bobsJob), sa('bob'));
});

t.test("users see only their own jobs; another's is 404", async (t) => {
  await waitFor(async () => ((await api.request('GET', `/jobs/${alicesJob}`, as(ALICE))).json().status === 'successful' ? true : undefined), {
    what: "alice's job to succeed",
    timeoutMs: 30_000,
  });
  const list = (await api.request('GET', '/jobs?limit=100', as(BOB))).json<{ jobs: Array<{ jobID: string }> }>();
  t.same(list.jobs.map((j) => j.jobID), [bobsJob]);
  status(t, await api.request('GET', `/jobs/${alicesJob}`, as(BOB)), 404, "bob reads alice's job");
  status(t, await api.request('GET', `/jobs/${alicesJob}/results`, as(BOB)), 404, "bob reads alice's results");
  status(t, await api.request('DELETE', `/jobs/${alicesJob}`, as(BOB)), 404, "bob dismisses alice's job");
  status(t, await api.request('GET', `/jobs/${alicesJob}`, as(READER)), 404, 'a reader without the job');
  status(t, await api.request('GET', `/jobs/${alicesJob}/results`, as(ALICE)), 200, 'alice reads her results');
});

t.test('logs need get pods/log', async (t) => {
  status(t, await api.request('GET', `/jobs/${alicesJob}/logs`, as(ALICE)), 403, 'alice, without pods/log, on her own job');
  const logs = await api.request('GET', `/jobs/${alicesJob}/logs`, as(OLGA));
  status(t, logs, 200, 'olga, with pods/log');
  t.match(logs.text, /==> pod /);
  const all = (await api.request('GET', '/jobs?limit=100', as(OLGA))).json<{ jobs: Array<{ jobID: string }> }>();
  t.ok([alicesJob, bobsJob].every((id) => all.jobs.some((j) => j.jobID === id)), 'the operator right sees every job');
});

t.test('a Job made with kubectl is owned by its creator, whatever it claims', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'auth-k8s-'));
  const kubeconfig = path.join(dir, 'bob');
  await cluster.writeKubeconfig(kubeconfig, { namespace: NS, token: BOB });
  const manifest = JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      generateName: 'by-kubectl-',
      labels: { [MANAGED_LABEL]: 'true' },
      annotations: { [ANNOTATIONS.identifier]: alicesJob, [ANNOTATIONS.owner]: sa('alice'), [ANNOTATIONS.processId]: 'echo' },
    },
    spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo kubectl'] }] } } },
  });
  const created = await new Promise<string>((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), 'create', '-f', '-', '-o', 'json'], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`kubectl create: ${stderr || error.message}`)) : resolve(stdout),
    );
    child.stdin?.end(manifest);
  });
  const annotations = (JSON.parse(created) as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  t.equal(annotations[ANNOTATIONS.owner], sa('bob'), 'the owner is the creator from userInfo');
  const id = annotations[ANNOTATIONS.identifier]!;
  t.not(id, alicesJob, "the claimed id is not taken");
  t.match(id, /^[0-9a-f-]{36}$/);
  await waitFor(async () => ((await api.request('GET', `/jobs/${id}`, as(BOB))).status === 200 ? true : undefined), { what: 'the kubectl job to be listed for bob', timeoutMs: 20_000 });
  status(t, await api.request('GET', `/jobs/${id}`, as(ALICE)), 404, 'alice does not see it');
  const alice = await api.request('GET', `/jobs/${alicesJob}`, as(ALICE));
  t.equal(alice.json().status, 'successful', "alice's job is still alice's");
});
