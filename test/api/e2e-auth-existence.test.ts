/**
 * Whether a job id exists is not told to a caller who may not see the job —
 * neither by the answer nor by the work done for it: for every job route, a
 * hidden job (live, deleted before its record landed, archived and already
 * read) costs the same archive requests as an id that does not exist. The
 * archive is s3rver behind a proxy that counts what the API asks of it.
 * Also: a Job deleted before its archived record lands keeps its owner.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startTestCluster } from '../helpers/local-cluster.js';
import { startTestArchive } from '../helpers/api-archive.js';
import { jobIdOf, startApiHarness, type ApiResponse } from '../helpers/api-e2e.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';

const NS = 'auth-existence';
const ALICE = 'alice-token-Vb7Nm3Kj9Hg5Fd1S';
const BOB = 'bob-token-Pl2Ok4Ij6Uh8Yg0T';
const OLGA = 'olga-token-Rf3Ed5Ws7Qa9Zx1C';
const jobName = (id: string): string => `pygeoapi-job-${id}`;

/** S3 requests that passed the proxy, as `METHOD path` (decoded). */
const s3Requests: string[] = [];
const archive = await startTestArchive(t, 'existence-archive');
const s3 = new URL(archive.env.PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT!);
const proxy = http.createServer((request, response) => {
  s3Requests.push(`${request.method} ${decodeURIComponent(new URL(request.url ?? '/', 'http://s3').pathname)}`);
  // Headers (Host included) go on unchanged: the client signed them.
  const upstream = http.request({ host: s3.hostname, port: s3.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  upstream.on('error', () => response.destroy());
  request.pipe(upstream);
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
t.teardown(
  () =>
    new Promise<void>((resolve) => {
      proxy.closeAllConnections();
      proxy.close(() => resolve());
    }),
);

const cluster = await startTestCluster(t, { namespaces: [NS] });
const api = await startApiHarness(t, {
  cluster,
  namespace: NS,
  configFile: path.join(API_FIXTURES, 'auth-processes.yaml'),
  env: {
    ...archive.env,
    PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'token',
    PYGEOAPI_K8S_MANAGER_AUTH_TOKENS: `alice:user:${ALICE},bob:user:${BOB},olga:operator:${OLGA}`,
  },
});

const as = (token: string, extra: Record<string, string> = {}) => ({ headers: { authorization: `Bearer ${token}`, ...extra } });

async function execute(token: string, inputs: Record<string, unknown>): Promise<string> {
  const response = await api.request('POST', '/processes/echo/execution', { body: { inputs }, ...as(token, { prefer: 'respond-async' }) });
  if (response.status !== 201) throw new Error(`executing: ${response.status} ${response.text}`);
  return jobIdOf(response.headers.get('location'));
}

/** The archive requests about one job id (history upkeep left out), with the id written as {id}. */
function archiveRequestsAbout(id: string, from: number): string[] {
  return s3Requests
    .slice(from)
    .filter((r) => r.includes(id) && !r.includes('/.history/'))
    .map((r) => r.replaceAll(id, '{id}'));
}

// Alice's jobs, one in each place a job may be.
const liveId = await execute(ALICE, { stringInput: 'live', pause: 300 });
const deletedId = await execute(ALICE, { stringInput: 'deleted', pause: 300 });
const archivedId = randomUUID();
await archive.putJob(
  NS,
  jobName(archivedId),
  {
    status: { jobID: archivedId, processID: 'echo', type: 'process', status: 'successful', message: 'done', created: '2025-02-01T08:00:00.000Z', finished: '2025-02-01T08:00:03.000Z', updated: '2025-02-01T08:00:03.000Z', progress: 100 },
    processId: 'echo',
    owner: 'alice',
    result: { mimetype: 'application/json', value: '{"stringInput": "archived"}' },
    archivedAt: '2025-02-01T08:00:04.000Z',
  },
  [{ pod: `${jobName(archivedId)}-abcde`, container: 'main', text: 'archived log line\n' }],
);
const unknownId = randomUUID();

for (const id of [liveId, deletedId]) {
  await waitFor(async () => ((await api.request('GET', `/jobs/${id}`, as(ALICE))).json().status === 'running' ? true : undefined), {
    what: `alice's job ${id} to run`,
    timeoutMs: 30_000,
  });
}
// Deleted behind the API's back, before any controller archived it: only the API's tombstone remembers it.
const before = s3Requests.length;
await api.batch.deleteNamespacedJob({ namespace: NS, name: jobName(deletedId), propagationPolicy: 'Background' });
await waitFor(async () => ((await api.batch.listNamespacedJob({ namespace: NS })).items.some((j) => j.metadata?.name === jobName(deletedId)) ? undefined : true), {
  what: 'the Job to be deleted',
  timeoutMs: 20_000,
});
// The API looks for the record of a Job that left the cluster once by itself; wait for that to be done.
await waitFor(() => (archiveRequestsAbout(deletedId, before).length > 0 ? true : undefined), { what: 'the API to look for the archived record', timeoutMs: 10_000 });
// Alice reads her archived job once, so its record is in the API's memory.
t.equal((await api.request('GET', `/jobs/${archivedId}`, as(ALICE))).status, 200, 'alice reads her archived job');

t.test('a Job deleted before its archived record lands keeps its owner', async (t) => {
  const alices = await api.request('GET', `/jobs/${deletedId}`, as(ALICE));
  t.equal(alices.status, 200, 'alice still sees it');
  t.equal(alices.json().status, 'dismissed', 'a Job deleted while running is dismissed');
  t.equal((await api.request('GET', `/jobs/${deletedId}`, as(BOB))).status, 404, 'bob does not');
  t.equal((await api.request('GET', `/jobs/${deletedId}`, as(OLGA))).status, 200, 'an operator does');
  const listed = async (token: string): Promise<string[]> => (await api.request('GET', '/jobs?limit=100', as(token))).json<{ jobs: Array<{ jobID: string }> }>().jobs.map((j) => j.jobID);
  t.ok((await listed(ALICE)).includes(deletedId), "in alice's list");
  t.notOk((await listed(BOB)).includes(deletedId), "not in bob's list");
});

interface Probe {
  method: string;
  route: (id: string) => string;
  headers?: Record<string, string>;
}
const ROUTES: Probe[] = [
  { method: 'GET', route: (id) => `/jobs/${id}` },
  { method: 'GET', route: (id) => `/jobs/${id}?f=html` },
  { method: 'GET', route: (id) => `/jobs/${id}/results` },
  { method: 'GET', route: (id) => `/jobs/${id}/logs` },
  { method: 'DELETE', route: (id) => `/jobs/${id}` },
  // The job page's dismiss button, a same-site form post.
  { method: 'POST', route: (id) => `/jobs/${id}/dismiss`, headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' } },
];

async function probe(probe: Probe, id: string): Promise<{ response: ApiResponse; archiveRequests: string[] }> {
  const from = s3Requests.length;
  const response = await api.request(probe.method, probe.route(id), { ...as(BOB, probe.headers), ...(probe.method === 'POST' ? { body: '' } : {}) });
  return { response, archiveRequests: archiveRequestsAbout(id, from) };
}

function sameAnswer(t: Test, hidden: ApiResponse, unknown: ApiResponse, hiddenId: string, what: string): void {
  t.equal(hidden.status, unknown.status, `${what}: the same status (${unknown.status})`);
  t.equal(hidden.headers.get('content-type'), unknown.headers.get('content-type'), `${what}: the same content type`);
  t.equal(hidden.text.replaceAll(hiddenId, unknownId), unknown.text, `${what}: the same body`);
}

t.test("another user's job costs the archive requests of an id that does not exist, on every job route", async (t) => {
  for (const route of ROUTES) {
    const what = `${route.method} ${route.route('{id}')}`;
    const unknown = await probe(route, unknownId);
    t.ok([403, 404].includes(unknown.response.status), `${what}: an unknown id is ${unknown.response.status}`);
    for (const [label, id] of [['live', liveId], ['deleted, not archived', deletedId], ['archived, in memory', archivedId]] as const) {
      const hidden = await probe(route, id);
      sameAnswer(t, hidden.response, unknown.response, id, `${what}, ${label}`);
      t.same(hidden.archiveRequests, unknown.archiveRequests, `${what}, ${label}: archive requests ${JSON.stringify(unknown.archiveRequests)}`);
    }
  }
  t.same(archiveRequestsAbout(unknownId, 0).slice(0, 1), [`GET /existence-archive/${NS}/${jobName('{id}')}/job.json`], 'an unknown id is one read of its job record');
});

t.test('a job the caller sees costs no archive read while it is live', async (t) => {
  const from = s3Requests.length;
  t.equal((await api.request('GET', `/jobs/${liveId}`, as(ALICE))).status, 200);
  t.same(archiveRequestsAbout(liveId, from), [], 'answered from the watch cache');
  t.equal((await api.request('DELETE', `/jobs/${liveId}`, as(ALICE))).status, 200, 'alice dismisses her live job');
});
