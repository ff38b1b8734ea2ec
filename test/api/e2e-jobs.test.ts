/**
 * Jobs end to end on a local cluster: status while a pod cannot start, the
 * job list's filters and paging over many jobs, dismissal of a running and
 * of a finished job, logs, Jobs made without the API (kubectl, the Python
 * manager), and jobs whose Kubernetes objects are gone (tombstones, the S3
 * archive).
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { V1Job } from '@kubernetes/client-node';
import { containerPid, processAlive, shellJob, startTestCluster } from '../helpers/local-cluster.js';
import { API_TOKEN, expectOgc, jobIdOf, startApiHarness, type ApiHarness } from '../helpers/api-e2e.js';
import { startTestArchive } from '../helpers/api-archive.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';
import pino from 'pino';
import { Registry } from 'prom-client';
import { controllerSettingsFrom, startController } from '../../controller/index.js';

const TEST_CONFIG = path.join(API_FIXTURES, 'test-processes.yaml');
const NS = 'jobs';
const ARCHIVE_NS = 'archived';

const cluster = await startTestCluster(t, { namespaces: [NS, ARCHIVE_NS] });
const api = await startApiHarness(t, { cluster, namespace: NS, configFile: TEST_CONFIG });

interface Link {
  href: string;
  rel: string;
}
interface StatusDoc {
  jobID: string;
  processID?: string;
  status: string;
  message?: string;
  created?: string;
  started?: string;
  finished?: string;
  links: Link[];
}
interface JobList {
  jobs: StatusDoc[];
  links: Link[];
}

async function submit(harness: ApiHarness, processId: string, inputs: Record<string, unknown> = {}): Promise<string> {
  const response = await harness.request('POST', `/processes/${processId}/execution`, { body: { inputs }, headers: { prefer: 'respond-async' } });
  if (response.status !== 201) throw new Error(`executing ${processId}: ${response.status} ${response.text}`);
  return jobIdOf(response.headers.get('location'));
}

async function jobList(t: Test, harness: ApiHarness, query: string): Promise<JobList> {
  const response = await harness.request('GET', `/jobs?${query}`);
  t.equal(response.status, 200, `GET /jobs?${query}`);
  return expectOgc(t, 'jobList', response.json<JobList>(), `/jobs?${query}`);
}

const jobName = (id: string) => `pygeoapi-job-${id}`;

async function jobGone(harness: ApiHarness, namespace: string, name: string): Promise<boolean> {
  try {
    await harness.batch.readNamespacedJob({ namespace, name });
    return false;
  } catch {
    return true;
  }
}

const podsOf = async (harness: ApiHarness, namespace: string, name: string) =>
  (await harness.core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` })).items;

let secretWaitJob = '';

t.test('accepted while a pod cannot start: the waiting reason is the message, then it runs', async (t) => {
  secretWaitJob = await submit(api, 'generic-inputs', { token: API_TOKEN, name: 'waits-for-secret' });
  const waiting = await waitFor(
    async () => {
      const status = (await api.request('GET', `/jobs/${secretWaitJob}`)).json<StatusDoc>();
      return /CreateContainerConfigError/.test(status.message ?? '') ? status : undefined;
    },
    { what: 'the missing Secret to show in the status message', timeoutMs: 15_000 },
  );
  t.equal(waiting.status, 'accepted', 'a pod that cannot start is accepted, not running');
  t.match(waiting.message, /test-secret/, 'the message names the missing Secret');
  expectOgc(t, 'statusInfo', waiting, 'waiting job');
  await api.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'test-secret' }, stringData: { 'api-key': 'k' } } });
  const done = await api.waitForStatus(secretWaitJob, ['successful', 'failed']);
  t.equal(done.status, 'successful', 'runs once the Secret exists');
});

t.test('filters and paging over many jobs', async (t) => {
  const before = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const kinds: Array<[string, number, Record<string, unknown>]> = [
    ['generic-json', 12, {}],
    ['generic-fail', 8, {}],
    ['echo', 10, { stringInput: 'many' }],
  ];
  const created = new Map<string, string[]>();
  for (const [processId, count, inputs] of kinds) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push(await submit(api, processId, inputs));
    created.set(processId, ids);
  }
  const all = [...created.values()].flat();
  t.equal(new Set(all).size, 30, '30 distinct job ids');
  const ours = 'processID=generic-json,generic-fail,echo';
  await waitFor(
    async () => {
      const list = (await api.request('GET', `/jobs?${ours}&status=successful,failed&limit=40`)).json<JobList>();
      return list.jobs.length === 30;
    },
    { what: 'all 30 jobs to finish', timeoutMs: 60_000, intervalMs: 200 },
  );
  const after = Date.now() + 1000;

  t.test('limit with next/prev links walks every job once, newest first', async (t) => {
    const pages: StatusDoc[][] = [];
    let query: string | undefined = `${ours}&limit=7`;
    while (query !== undefined && pages.length < 10) {
      const list: JobList = await jobList(t, api, query);
      t.ok(list.jobs.length <= 7, 'at most limit jobs');
      t.equal(list.links.some((l) => l.rel === 'prev'), pages.length > 0, 'prev on all but the first page');
      t.ok(list.links.some((l) => l.rel === 'self'), 'a self link');
      pages.push(list.jobs);
      const next: Link | undefined = list.links.find((l) => l.rel === 'next');
      query = next ? api.pathOf(next.href).replace(/^\/jobs\?/, '') : undefined;
    }
    t.same(pages.map((p) => p.length), [7, 7, 7, 7, 2], 'page sizes');
    const seen = pages.flat().map((j) => j.jobID);
    t.equal(new Set(seen).size, seen.length, 'no job twice');
    t.same(new Set(seen), new Set(all), 'every job once');
    const times = pages.flat().map((j) => Date.parse(j.created ?? ''));
    t.ok(times.every((v, i) => i === 0 || v <= times[i - 1]!), 'newest first');
    const lastSelf = (await jobList(t, api, `${ours}&limit=7&offset=28`)).links.find((l) => l.rel === 'prev');
    const back = lastSelf ? (await api.request('GET', api.pathOf(lastSelf.href))).json<JobList>() : undefined;
    t.same(back?.jobs.map((j) => j.jobID), pages[3]!.map((j) => j.jobID), 'prev from the last page gives the page before');
  });

  t.test('filters', async (t) => {
    const ids = async (query: string) => new Set((await jobList(t, api, `${query}&limit=40`)).jobs.map((j) => j.jobID));
    t.same(await ids('processID=echo'), new Set(created.get('echo')), 'processID');
    t.same(await ids(`${ours}&status=failed`), new Set(created.get('generic-fail')), 'status=failed');
    t.same(await ids('processID=generic-json&status=successful'), new Set(created.get('generic-json')), 'processID and status');
    t.same(await ids('processID=generic-json&status=failed'), new Set(), 'a combination matching nothing');
    t.same(await ids(`${ours}&type=process`), new Set(all), 'type=process');
    t.same(await ids(`${ours}&datetime=${new Date(before).toISOString()}/${new Date(after).toISOString()}`), new Set(all), 'datetime interval around the submissions');
    t.same(await ids(`${ours}&datetime=../${new Date(before - 60_000).toISOString()}`), new Set(), 'datetime before them');
    t.same(await ids(`${ours}&maxDuration=3600`), new Set(all), 'maxDuration');
    t.same(await ids(`${ours}&minDuration=3600`), new Set(), 'minDuration');
    const failed = (await jobList(t, api, 'processID=generic-fail&limit=1')).jobs[0];
    t.match(failed?.message, /exit code 3/, 'failed jobs in the list carry their message');
  });

  t.test('limit above the maximum is capped; bad parameters are 400', async (t) => {
    const capped = await jobList(t, api, 'limit=100000');
    t.ok(capped.jobs.length <= 40, 'server.limits.max_items');
    t.match(capped.links.find((l) => l.rel === 'self')?.href, /limit=40/, 'the self link says the limit used');
    const fallback = await jobList(t, api, ours);
    t.equal(fallback.jobs.length, 5, 'server.limits.default_items without limit');
    for (const bad of ['status=done', 'limit=0', 'limit=x', 'datetime=yesterday', 'minDuration=-5', 'type=workflow']) {
      const response = await api.request('GET', `/jobs?${bad}`);
      t.equal(response.status, 400, `${bad}: 400`);
      const error = expectOgc(t, 'exception', response.json<{ detail: string }>(), bad);
      t.match(error.detail, bad.split('=')[0]!, `${bad}: names the parameter`);
    }
  });
});

t.test('dismissing a running job stops it and it stays dismissed', async (t) => {
  const id = await submit(api, 'generic-sleep');
  await api.waitForStatus(id, ['running']);
  const pid = await waitFor(
    async () => {
      const [pod] = await podsOf(api, NS, jobName(id));
      return pod ? containerPid(pod, 'generic-image-processor') : undefined;
    },
    { what: 'the container pid' },
  );
  t.ok(processAlive(pid), 'the container process runs');

  const response = await api.request('DELETE', `/jobs/${id}`);
  t.equal(response.status, 200, 'DELETE: 200');
  const body = expectOgc(t, 'statusInfo', response.json<StatusDoc>(), 'dismiss answer');
  t.equal(body.status, 'dismissed');
  t.equal(body.jobID, id);
  t.ok(body.finished, 'finished is set');

  await waitFor(() => jobGone(api, NS, jobName(id)), { what: 'the Job to be deleted', timeoutMs: 15_000 });
  await waitFor(() => !processAlive(pid), { what: 'the container process to end', timeoutMs: 15_000 });
  const terminated = await waitFor(
    async () => {
      const pods = await podsOf(api, NS, jobName(id));
      return pods.every((p) => p.status?.containerStatuses?.every((c) => c.state?.terminated)) ? pods : undefined;
    },
    { what: 'its pods to be terminated', timeoutMs: 15_000 },
  );
  t.pass(`the Job is deleted, the container process ended, ${terminated.length} pod(s) left terminated or deleted`);
  const podsDeleted = await waitFor(async () => (await podsOf(api, NS, jobName(id))).length === 0, { what: 'its pods to be deleted', timeoutMs: 5_000 }).then(
    () => true,
    () => false,
  );
  t.ok(podsDeleted, 'its pods are deleted too');

  const after = await api.request('GET', `/jobs/${id}`);
  t.equal(after.status, 200, 'the job is still known');
  t.equal(expectOgc(t, 'statusInfo', after.json<StatusDoc>(), 'after dismissal').status, 'dismissed', 'still dismissed');
  t.ok((await jobList(t, api, 'status=dismissed&limit=40')).jobs.some((j) => j.jobID === id), 'listed with status=dismissed');
  const results = await api.request('GET', `/jobs/${id}/results`);
  t.equal(results.status, 404, 'no results of a dismissed job');
  expectOgc(t, 'exception', results.json(), 'results of a dismissed job');
  const again = await api.request('DELETE', `/jobs/${id}`);
  t.equal(again.status, 200, 'dismissing again is harmless');
  t.equal(again.json<StatusDoc>().status, 'dismissed');
});

t.test('dismissing a finished job removes it and reports dismissed', async (t) => {
  const id = await submit(api, 'generic-json');
  await api.waitForStatus(id, ['successful']);
  const response = await api.request('DELETE', `/jobs/${id}`);
  t.equal(response.status, 200);
  t.equal(expectOgc(t, 'statusInfo', response.json<StatusDoc>(), 'dismiss finished').status, 'dismissed');
  await waitFor(() => jobGone(api, NS, jobName(id)), { what: 'the Job to be deleted', timeoutMs: 15_000 });
  const document = await api.request('GET', `/jobs/${id}`);
  t.equal(document.json<StatusDoc>().status, 'dismissed', 'reported dismissed afterwards');
  const etag = document.headers.get('etag') ?? '';
  t.match(etag, /^"[\w-]+"$/, 'the job document has an ETag');
  const unchanged = await api.request('GET', `/jobs/${id}`, { headers: { 'if-none-match': etag } });
  t.equal(unchanged.status, 304, 'an unchanged document answers 304 to its ETag');
  t.equal(unchanged.text, '', 'with no body');
  const again = await api.request('GET', `/jobs/${id}`);
  t.equal(again.text, document.text, 'the same bytes the next time');
  t.equal(again.headers.get('etag'), etag);
  t.equal((await api.request('GET', `/jobs/${id}`, { headers: { 'if-none-match': '"other"' } })).status, 200, 'another ETag gets the document');
});

t.test('/jobs/{id}/logs: every container, live from the pods', async (t) => {
  const response = await api.request('GET', `/jobs/${secretWaitJob}/logs`);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^text\/plain/);
  t.match(response.text, /container prepare/, 'the init container has a section');
  t.match(response.text, /init for generic-inputs/, "the init container's output");
  t.match(response.text, /container generic-image-processor/, 'the main container has a section');
  t.match(response.text, /reading inputs/, "the main container's output");
  t.ok(response.text.indexOf('init for') < response.text.indexOf('reading inputs'), 'init container first');
});

t.test('Jobs made without the API are jobs too', async (t) => {
  const markers = 'echo PYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:text/plain; echo PYGEOAPI_K8S_MANAGER_RESULT_START; echo made by kubectl';
  const kubectl: V1Job = shellJob('kubectl-made-1', markers);
  // The id the webhook gives a kubectl Job (the admission request's uid); this harness runs no webhook.
  const kubectlId = randomUUID();
  kubectl.metadata = { name: 'kubectl-made-1', labels: { 'pygeoapi.io/managed': 'true' }, annotations: { 'pygeoapi.io/identifier': kubectlId } };
  kubectl.spec!.template.metadata = { labels: { 'pygeoapi.io/managed': 'true' } };
  const pythonId = randomUUID();
  const python: V1Job = shellJob(jobName(pythonId), markers.replace('kubectl', 'the Python manager'));
  python.metadata = { name: jobName(pythonId), annotations: { 'pygeoapi.io/identifier': pythonId, 'pygeoapi.io/process_id': 'hello-world-k8s', 'pygeoapi.io/started': '2025-03-01T10:00:00.000000Z' } };
  const unrelated = shellJob('unrelated-job', 'echo not ours');
  for (const body of [kubectl, python, unrelated]) await api.batch.createNamespacedJob({ namespace: NS, body });

  const kubectlStatus = await api.waitForStatus(kubectlId, ['successful', 'failed']);
  t.equal(kubectlStatus.status, 'successful', 'a labelled kubectl Job is a job, with the id the webhook gave it');
  expectOgc(t, 'statusInfo', kubectlStatus, 'kubectl job');
  const kubectlResults = await api.request('GET', `/jobs/${kubectlId}/results`);
  t.equal(kubectlResults.status, 200);
  t.match(kubectlResults.headers.get('content-type'), /^text\/plain/);
  t.equal(kubectlResults.text, 'made by kubectl', 'results from the markers in its log, raw in their media type (a Job without a response mode: raw, as the Python manager answers)');

  const pythonStatus = await api.waitForStatus(pythonId, ['successful', 'failed']);
  t.match(pythonStatus, { status: 'successful', processID: 'hello-world-k8s' }, "a Python manager's Job (prefix + identifier, no label)");
  t.equal((await api.request('GET', `/jobs/${pythonId}/results`)).text, 'made by the Python manager');

  const list = await jobList(t, api, 'limit=40');
  const listed = new Set(list.jobs.map((j) => j.jobID));
  t.ok(listed.has(kubectlId) && listed.has(pythonId), 'both are listed');
  await waitFor(async () => (await api.batch.readNamespacedJob({ namespace: NS, name: 'unrelated-job' })).status?.succeeded === 1, { what: 'the unrelated Job to finish' });
  t.notOk((await jobList(t, api, 'limit=40')).jobs.some((j) => j.jobID === 'unrelated-job'), 'an unlabelled, unprefixed Job is not a job');
  t.equal((await api.request('GET', '/jobs/unrelated-job')).status, 404);
});

t.test('a Job deleted from the cluster without an archive', async (t) => {
  const id = await submit(api, 'generic-json');
  await api.waitForStatus(id, ['successful']);
  await api.batch.deleteNamespacedJob({ namespace: NS, name: jobName(id), propagationPolicy: 'Background' });
  await waitFor(() => jobGone(api, NS, jobName(id)), { what: 'the Job to be deleted' });
  await waitFor(async () => (await podsOf(api, NS, jobName(id))).length === 0, { what: 'its pods to be deleted', timeoutMs: 15_000 });
  const status = await api.request('GET', `/jobs/${id}`);
  t.equal(status.status, 200, 'still known to this API process (its last status)');
  t.equal(status.json<StatusDoc>().status, 'successful');
  const results = await api.request('GET', `/jobs/${id}/results`);
  const honest = results.status === 200 ? JSON.stringify(results.json()) === JSON.stringify({ count: 3, word: 'three' }) : results.status >= 400 && results.status < 500;
  t.ok(honest, `results: the real values or a 4xx exception, never made-up ones (got ${results.status} ${results.text})`);
});

t.test('jobs whose Kubernetes objects are gone are found in the archive', async (t) => {
  const archive = await startTestArchive(t);
  const goneId = randomUUID();
  const goneName = jobName(goneId);
  await archive.putJob(
    ARCHIVE_NS,
    goneName,
    {
      status: { jobID: goneId, processID: 'generic-json', type: 'process', status: 'successful', message: 'job completed', created: '2025-02-01T08:00:00.000Z', started: '2025-02-01T08:00:01.000Z', finished: '2025-02-01T08:00:03.000Z', updated: '2025-02-01T08:00:03.000Z', progress: 100 },
      processId: 'generic-json',
      parameters: {},
      result: { mimetype: 'application/json', value: '{"count": 7, "word": "seven"}' },
      archivedAt: '2025-02-01T08:00:04.000Z',
    },
    [{ pod: `${goneName}-abcde`, container: 'generic-image-processor', text: 'archived log line\n' }],
  );
  const harness = await startApiHarness(t, { cluster, namespace: ARCHIVE_NS, configFile: TEST_CONFIG, env: archive.env });

  const status = await harness.request('GET', `/jobs/${goneId}`);
  t.equal(status.status, 200, 'an archived job is found');
  t.match(expectOgc(t, 'statusInfo', status.json(), 'archived status'), { jobID: goneId, status: 'successful', processID: 'generic-json' });
  t.ok((await jobList(t, harness, 'limit=40')).jobs.some((j) => j.jobID === goneId), 'and listed');
  t.ok((await jobList(t, harness, 'processID=generic-json&datetime=2025-02-01T00:00:00Z/2025-02-02T00:00:00Z')).jobs.some((j) => j.jobID === goneId), 'and filtered like any job');
  const results = await harness.request('GET', `/jobs/${goneId}/results`);
  t.equal(results.status, 200);
  t.same(expectOgc(t, 'results', results.json(), 'archived results'), { count: 7, word: 'seven' }, 'results from the record');

  // A succeeded job whose log was lost (the controller's result-outcome.ts): served as failed, saying why, never a success without results.
  const lostId = randomUUID();
  const lostMessage = 'The job ended successfully, but its result was lost with its log, which could not be read to the end (main: gone: the container log was gone).';
  await archive.putJob(
    ARCHIVE_NS,
    jobName(lostId),
    {
      status: { jobID: lostId, processID: 'generic-json', type: 'process', status: 'failed', message: lostMessage, created: '2025-02-01T10:00:00.000Z', updated: '2025-02-01T10:00:03.000Z', progress: 100 },
      processId: 'generic-json',
      resultLost: 'main: gone: the container log was gone',
      archivedAt: '2025-02-01T10:00:04.000Z',
    },
    [{ pod: `${jobName(lostId)}-abcde`, container: 'main', text: '' }],
  );
  const lost = await harness.request('GET', `/jobs/${lostId}`);
  t.equal(lost.status, 200);
  t.match(expectOgc(t, 'statusInfo', lost.json(), 'a lost result'), { jobID: lostId, status: 'failed', message: lostMessage });
  const lostResults = await harness.request('GET', `/jobs/${lostId}/results`);
  t.not(lostResults.status, 200, 'no results');
  t.match(expectOgc(t, 'exception', lostResults.json(), 'results of a lost result'), { type: /job-results-failed/, detail: /result was lost with its log.*main: gone/ });

  // How the execution asked for its results is kept in the record: the same answer once the Job is gone.
  const askedId = randomUUID();
  await archive.putJob(
    ARCHIVE_NS,
    jobName(askedId),
    {
      status: { jobID: askedId, processID: 'generic-json', type: 'process', status: 'successful', message: 'Completed', created: '2025-02-01T09:00:00.000Z', updated: '2025-02-01T09:00:03.000Z', progress: 100 },
      processId: 'generic-json',
      resultsRequest: { response: 'document', outputs: ['word'] },
      result: { mimetype: 'application/json', value: '{"count": 7, "word": "seven"}' },
      archivedAt: '2025-02-01T09:00:04.000Z',
    },
    [],
  );
  const asked = await harness.request('GET', `/jobs/${askedId}/results`);
  t.equal(asked.status, 200);
  t.same(expectOgc(t, 'results', asked.json(), 'archived results document'), { word: 'seven' }, 'the document the execution asked for (raw with one output would be the bare value)');
  t.notOk('count' in asked.json<Record<string, unknown>>(), 'only the outputs it asked for');
  const logs = await harness.request('GET', `/jobs/${goneId}/logs`);
  t.equal(logs.status, 200);
  t.match(logs.text, /archived log line/, 'logs from the archive');

  // A live job whose record the controller has written, then deleted from the cluster.
  const liveId = await submit(harness, 'generic-json');
  const final = await harness.waitForStatus(liveId, ['successful', 'failed']);
  await archive.putJob(
    ARCHIVE_NS,
    jobName(liveId),
    { status: { ...final, links: undefined }, processId: 'generic-json', result: { mimetype: 'application/json', value: '{"count": 3, "word": "three"}' }, archivedAt: new Date().toISOString() },
    [{ pod: `${jobName(liveId)}-xyz`, container: 'generic-image-processor', text: 'printed the result\n' }],
  );
  await harness.batch.deleteNamespacedJob({ namespace: ARCHIVE_NS, name: jobName(liveId), propagationPolicy: 'Background' });
  await waitFor(async () => (await podsOf(harness, ARCHIVE_NS, jobName(liveId))).length === 0 && (await jobGone(harness, ARCHIVE_NS, jobName(liveId))), {
    what: 'the Job and its pods to be gone',
    timeoutMs: 15_000,
  });
  t.equal((await harness.request('GET', `/jobs/${liveId}`)).json<StatusDoc>().status, final.status, 'the status survives the Job');
  const liveResults = await harness.request('GET', `/jobs/${liveId}/results`);
  t.equal(liveResults.status, 200);
  t.same(liveResults.json(), { count: 3, word: 'three' }, 'results from the archive once the pods are gone');
  t.match((await harness.request('GET', `/jobs/${liveId}/logs`)).text, /printed the result/, 'logs from the archive once the pods are gone');

  // A successful, archived job dismissed through the API: no results any more, though the record has them.
  const dismissedId = await submit(harness, 'generic-json');
  const done = await harness.waitForStatus(dismissedId, ['successful']);
  await archive.putJob(
    ARCHIVE_NS,
    jobName(dismissedId),
    { status: { ...done, links: undefined }, processId: 'generic-json', result: { mimetype: 'application/json', value: '{"count": 3, "word": "three"}' }, archivedAt: new Date().toISOString() },
    [{ pod: `${jobName(dismissedId)}-xyz`, container: 'generic-image-processor', text: 'printed the result\n' }],
  );
  t.equal((await harness.request('DELETE', `/jobs/${dismissedId}`)).status, 200, 'dismissed');
  await waitFor(() => jobGone(harness, ARCHIVE_NS, jobName(dismissedId)), { what: 'the dismissed Job to be gone', timeoutMs: 15_000 });
  t.equal((await harness.request('GET', `/jobs/${dismissedId}`)).json<StatusDoc>().status, 'dismissed', 'reported dismissed, not the archived success');
  const dismissedResults = await harness.request('GET', `/jobs/${dismissedId}/results`);
  t.equal(dismissedResults.status, 404, 'no results of a dismissed job');
  t.match(expectOgc(t, 'exception', dismissedResults.json(), 'results of a dismissed job'), { type: /result-not-ready|no-such-job/ });
});

t.test('results after the Job was deleted, archived by the real controller', async (t) => {
  const archive = await startTestArchive(t, 'controller-archive');
  const harness = await startApiHarness(t, { cluster, namespace: ARCHIVE_NS, configFile: TEST_CONFIG, env: archive.env, archiveLogs: true });
  const controller = await startController({
    kubeConfig: harness.kubeConfig,
    namespaces: [ARCHIVE_NS],
    settings: controllerSettingsFrom(harness.config.settings),
    logger: pino({ level: 'silent' }),
    metricsRegistry: new Registry(),
    identity: 'e2e-controller',
  });
  t.teardown(() => controller.stop());

  const id = await submit(harness, 'generic-json');
  await harness.waitForStatus(id, ['successful']);
  // The controller releases the pod's finalizer only once the logs are verified in S3.
  await waitFor(async () => (await podsOf(harness, ARCHIVE_NS, jobName(id))).every((p) => !p.metadata?.finalizers?.includes('pygeoapi.io/finalizer-log-retrieval')), {
    what: 'the controller to archive and release the pod',
    timeoutMs: 30_000,
  });
  await harness.batch.deleteNamespacedJob({ namespace: ARCHIVE_NS, name: jobName(id), propagationPolicy: 'Background' });
  await waitFor(async () => (await podsOf(harness, ARCHIVE_NS, jobName(id))).length === 0, { what: 'the Job and its pods to go', timeoutMs: 30_000 });

  // A fresh API process: it knows the job only through the archive.
  const fresh = await startApiHarness(t, { cluster, namespace: ARCHIVE_NS, configFile: TEST_CONFIG, env: archive.env, archiveLogs: true });
  const status = await fresh.request('GET', `/jobs/${id}`);
  t.equal(status.status, 200, 'the job is found after its Kubernetes objects are gone');
  t.match(expectOgc(t, 'statusInfo', status.json(), 'archived status'), { jobID: id, status: 'successful' });
  t.ok((await jobList(t, fresh, 'limit=50')).jobs.some((j) => j.jobID === id), 'and listed');
  const results = await fresh.request('GET', `/jobs/${id}/results`);
  t.equal(results.status, 200);
  t.same(expectOgc(t, 'results', results.json(), 'archived results'), { count: 3, word: 'three' }, 'the results the job printed');
  t.match((await fresh.request('GET', `/jobs/${id}/logs`)).text, /==> pod .*container generic-image-processor <==\nPYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:application\/json\n/, 'the archived log');
});
