/**
 * Executing processes end to end on a local cluster: the shipped
 * hello-world-k8s and echo (sync, async, Prefer, raw, output selection, the
 * echo round trip), GenericImageProcessors running small shell commands,
 * failures, every client error, the token rules and a search proving the
 * token never reaches Kubernetes, logs or documents.
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { startTestCluster } from '../helpers/local-cluster.js';
import { API_TOKEN, expectOgc, jobIdOf, startApiHarness, type ApiHarness } from '../helpers/api-e2e.js';
import { API_FIXTURES, SHIPPED_CONFIG } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';

const TEST_CONFIG = path.join(API_FIXTURES, 'test-processes.yaml');
const RESULTS_REL = 'http://www.opengis.net/def/rel/ogc/1.0/results';

const cluster = await startTestCluster(t, { namespaces: ['shipped', 'tests', 'slow'] });
const shipped = await startApiHarness(t, { cluster, namespace: 'shipped', configFile: SHIPPED_CONFIG });
const tests = await startApiHarness(t, { cluster, namespace: 'tests', configFile: TEST_CONFIG });
const slow = await startApiHarness(t, { cluster, namespace: 'slow', configFile: TEST_CONFIG, env: { PYGEOAPI_K8S_MANAGER_SYNC_EXECUTION_TIMEOUT_SECONDS: '1' } });
for (const [namespace, name] of [
  ['tests', 'test-secret'],
  ['shipped', 'example-secret'],
]) {
  await tests.core.createNamespacedSecret({ namespace: namespace!, body: { metadata: { name }, stringData: { 'api-key': 'not-the-token' } } });
}

const execute = (api: ApiHarness, processId: string, body: unknown, headers: Record<string, string> = {}) =>
  api.request('POST', `/processes/${processId}/execution`, { body, headers });

interface Link {
  href: string;
  rel: string;
}

/** Checks a 201 asynchronous answer and returns the job id. */
function accepted(t: Test, api: ApiHarness, response: Awaited<ReturnType<typeof execute>>, what: string): string {
  t.equal(response.status, 201, `${what}: 201 Created`);
  const location = response.headers.get('location');
  const jobId = jobIdOf(location);
  t.equal(location, `${api.publicUrl}/jobs/${jobId}`, `${what}: Location is the job under the public URL`);
  const body = expectOgc(t, 'statusInfo', response.json<{ jobID: string; status: string; processID: string; links: Link[] }>(), what);
  t.equal(body.jobID, jobId, `${what}: the body is the job's status`);
  t.match(body.status, /^(accepted|running)$/, `${what}: accepted or running`);
  t.ok(body.links.some((l) => l.rel === 'self' && l.href === location), `${what}: self link to the job`);
  return jobId;
}

async function finalStatus(t: Test, api: ApiHarness, jobId: string, want: string): Promise<Record<string, unknown>> {
  const status = await api.waitForStatus(jobId, ['successful', 'failed', 'dismissed']);
  t.equal(status.status, want, `job ${jobId} ends ${want} (message: ${String(status.message)})`);
  expectOgc(t, 'statusInfo', status, `status of ${jobId}`);
  const times = ['created', 'started', 'finished', 'updated'].map((key) => Date.parse(String(status[key])));
  t.ok(times.every((v, i) => !Number.isNaN(v) && (i === 0 || v >= times[i - 1]!)), `created ≤ started ≤ finished ≤ updated (${times.join(', ')})`);
  t.equal(status.progress, 100, 'progress 100 when finished');
  return status;
}

t.test('hello-world-k8s is async-only: 201 + Location with or without Prefer', async (t) => {
  const plain = await execute(shipped, 'hello-world-k8s', { inputs: { name: 'World', message: 'An optional message.' } });
  const id = accepted(t, shipped, plain, 'no Prefer');
  t.equal(plain.headers.get('preference-applied'), null, 'no preference to report without Prefer');
  const preferred = await execute(shipped, 'hello-world-k8s', { inputs: { name: 'Ada' } }, { prefer: 'respond-async' });
  const id2 = accepted(t, shipped, preferred, 'Prefer: respond-async');
  t.equal(preferred.headers.get('preference-applied'), 'respond-async');
  const wait = await execute(shipped, 'hello-world-k8s', { inputs: { name: 'Ada' } }, { prefer: 'wait=10' });
  accepted(t, shipped, wait, 'Prefer: wait (not possible for an async-only process)');

  const status = await finalStatus(t, shipped, id, 'successful');
  t.match(status, { processID: 'hello-world-k8s', progress: 100 });
  for (const key of ['created', 'started', 'finished', 'updated']) t.ok(status[key], `${key} is set`);
  t.ok((status.links as Link[]).some((l) => l.rel === RESULTS_REL), 'a results link once successful');
  t.equal(status.message, 'Completed', "a successful job's message, as the Python manager gives it");
  const results = await shipped.request('GET', `/jobs/${id}/results`);
  t.equal(results.status, 200);
  t.match(results.headers.get('content-type'), /^application\/json/);
  t.same(results.json(), { result: "Hello 'World': 'An optional message.'" }, 'without `response`: the raw output, the greeting as the Python manager answers it');
  await finalStatus(t, shipped, id2, 'successful');
  t.same((await shipped.request('GET', `/jobs/${id2}/results`)).json(), { result: "Hello 'Ada'!" }, 'the greeting without a message');
  const documentId = accepted(t, shipped, await execute(shipped, 'hello-world-k8s', { inputs: { name: 'Doc' }, response: 'document' }), 'response document');
  await finalStatus(t, shipped, documentId, 'successful');
  const document = (await shipped.request('GET', `/jobs/${documentId}/results`)).json();
  t.same(expectOgc(t, 'results', document, 'hello-world-k8s results document'), { echo: { value: { result: "Hello 'Doc'!" }, mediaType: 'application/json' } }, 'response document: the results document');
});

t.test('hello-world-k8s passes inputs as data, never as shell', async (t) => {
  const hostile = `x'; echo INJECTED; echo '$(echo INJECTED2)`;
  const id = accepted(t, shipped, await execute(shipped, 'hello-world-k8s', { inputs: { name: hostile } }), 'hostile name');
  await finalStatus(t, shipped, id, 'successful');
  const results = (await shipped.request('GET', `/jobs/${id}/results`)).json<{ result: string }>();
  t.equal(results.result, `Hello '${hostile}'!`, 'the name comes back verbatim');
  const logs = await shipped.request('GET', `/jobs/${id}/logs`);
  t.notMatch(logs.text, /^INJECTED2?$/m, 'nothing was executed');
});

t.test('echo: synchronous by default, 200 with the raw output (the default response)', async (t) => {
  const response = await execute(shipped, 'echo', { inputs: { stringInput: 'Hello, OGC API!' } });
  t.equal(response.status, 200, 'sync: 200');
  t.match(response.headers.get('content-type'), /^text\/plain/);
  t.equal(response.text, 'Hello, OGC API!', 'the bare value of the one output');
  const document = await execute(shipped, 'echo', { inputs: { stringInput: 'Hello, OGC API!' }, response: 'document' });
  t.match(document.headers.get('content-type'), /^application\/json/);
  t.same(expectOgc(t, 'results', document.json(), 'sync results document'), { stringInput: 'Hello, OGC API!' }, 'response document: the results document');
  const location = response.headers.get('location');
  if (location) {
    const status = await shipped.request('GET', shipped.pathOf(location));
    t.equal(status.json().status, 'successful', 'the Location of a sync execution is the finished job');
  }
});

t.test('echo: Prefer respond-async gives 201, Preference-Applied, then results', async (t) => {
  const response = await execute(shipped, 'echo', { inputs: { stringInput: 'later' } }, { prefer: 'respond-async' });
  const id = accepted(t, shipped, response, 'echo async');
  t.equal(response.headers.get('preference-applied'), 'respond-async');
  await finalStatus(t, shipped, id, 'successful');
  const results = await shipped.request('GET', `/jobs/${id}/results`);
  t.equal(results.status, 200);
  t.equal(results.text, 'later', 'the raw output (no `response`: raw)');
  const lenient = await execute(shipped, 'echo', { inputs: { stringInput: 'x' } }, { prefer: 'handling=lenient, respond-async' });
  t.equal(lenient.status, 201, 'respond-async among other preferences');
  await finalStatus(t, shipped, jobIdOf(lenient.headers.get('location')), 'successful');
});

t.test('echo round trip: every string input comes back as the output of the same id; pause delays', async (t) => {
  const description = (await shipped.request('GET', '/processes/echo')).json<{ inputs: Record<string, { schema: { type: string } }>; outputs: Record<string, unknown> }>();
  const stringInputs = Object.entries(description.inputs).filter(([, d]) => d.schema.type === 'string').map(([id]) => id);
  const inputs: Record<string, unknown> = Object.fromEntries(stringInputs.map((id) => [id, `value of ${id} – ünïcode "quoted" \\ backslash`]));
  const started = Date.now();
  const response = await execute(shipped, 'echo', { inputs: { ...inputs, pause: 2 }, response: 'document' });
  const elapsed = Date.now() - started;
  t.equal(response.status, 200);
  const body = expectOgc(t, 'results', response.json(), 'echo round trip');
  for (const id of stringInputs) t.equal(body[id], inputs[id], `output ${id} equals input ${id}`);
  t.ok(elapsed >= 2000, `pause 2 made the execution take ≥ 2 s (took ${elapsed} ms)`);
  const jobId = jobIdOf(response.headers.get('location'));
  const status = (await shipped.request('GET', `/jobs/${jobId}`)).json<{ started: string; finished: string }>();
  t.ok(Date.parse(status.finished) - Date.parse(status.started) >= 1000, 'the job ran for the pause (second-resolution timestamps)');
});

t.test('response=raw gives the single output as it is', async (t) => {
  const raw = await execute(shipped, 'echo', { inputs: { stringInput: 'raw text' }, response: 'raw' });
  t.equal(raw.status, 200);
  t.match(raw.headers.get('content-type'), /^text\/plain/);
  t.equal(raw.text, 'raw text', 'the bare value');
  const document = await execute(shipped, 'echo', { inputs: { stringInput: 'doc' }, response: 'document' });
  t.same(expectOgc(t, 'results', document.json(), 'response=document'), { stringInput: 'doc' });
  const inputs = await execute(tests, 'generic-inputs', { inputs: { token: API_TOKEN, name: 'Ada', count: 2 }, response: 'raw' });
  t.equal(inputs.status, 200);
  t.match(inputs.headers.get('content-type'), /^text\/plain/);
  t.same(JSON.parse(inputs.text), { name: 'Ada', count: 2 }, 'the inputs exactly as the job saw them, without the token');
});

t.test('asynchronous raw (asked for, or the default): the results are the single output as it is; document when asked for', async (t) => {
  const rows: Array<[string, Record<string, unknown>, string, string | undefined]> = [
    ['response raw', { response: 'raw' }, 'raw later', undefined],
    ['no response: raw, the OGC default', {}, 'raw by default', undefined],
    ['response document', { response: 'document' }, 'doc later', 'document'],
  ];
  const ids = new Map<string, string>();
  for (const [what, extra, value] of rows) ids.set(what, accepted(t, shipped, await execute(shipped, 'echo', { inputs: { stringInput: value }, ...extra }, { prefer: 'respond-async' }), what));
  for (const [what, , value, form] of rows) {
    const id = ids.get(what)!;
    await finalStatus(t, shipped, id, 'successful');
    const results = await shipped.request('GET', `/jobs/${id}/results`);
    t.equal(results.status, 200, `${what}: 200`);
    if (form === 'document') {
      t.match(results.headers.get('content-type'), /^application\/json/);
      t.same(expectOgc(t, 'results', results.json(), what), { stringInput: value }, `${what}: the results document`);
    } else {
      t.match(results.headers.get('content-type'), /^text\/plain/, `${what}: the output's media type`);
      t.equal(results.text, value, `${what}: the bare value, not a document`);
    }
  }
  const job = await shipped.batch.readNamespacedJob({ namespace: 'shipped', name: `pygeoapi-job-${ids.get('no response: raw, the OGC default')!}` });
  t.equal(job.metadata?.annotations?.['pygeoapi.io/response'], 'raw', 'the mode the results answer in is on the Job');
});

t.test('asynchronous output selection: the results give the outputs asked for, raw when one', async (t) => {
  const one = accepted(t, tests, await execute(tests, 'generic-json', { outputs: { word: {} } }, { prefer: 'respond-async' }), 'one output of two');
  const both = accepted(t, tests, await execute(tests, 'generic-json', {}, { prefer: 'respond-async' }), 'both outputs');
  await finalStatus(t, tests, one, 'successful');
  const raw = await tests.request('GET', `/jobs/${one}/results`);
  t.match(raw.headers.get('content-type'), /^text\/plain/);
  t.equal(raw.text, 'three', 'the one output asked for, raw');
  await finalStatus(t, tests, both, 'successful');
  const document = await tests.request('GET', `/jobs/${both}/results`);
  t.same(expectOgc(t, 'results', document.json(), 'two outputs, raw'), { count: 3, word: 'three' }, 'two outputs in raw mode: the results document (the object the job printed)');
});

t.test('output selection', async (t) => {
  const all = await execute(tests, 'generic-json', {});
  t.equal(all.status, 200);
  t.same(expectOgc(t, 'results', all.json(), 'all outputs'), { count: 3, word: 'three' }, 'a JSON object keyed by output ids gives both outputs');
  const one = await execute(tests, 'generic-json', { outputs: { word: {} }, response: 'document' });
  t.same(expectOgc(t, 'results', one.json(), 'one output'), { word: 'three' }, 'only the requested output');
  const oneRaw = await execute(tests, 'generic-json', { outputs: { word: {} } });
  t.equal(oneRaw.text, 'three', 'one requested output without `response`: raw');
  const raw = await execute(tests, 'generic-json', { outputs: { count: {} }, response: 'raw' });
  t.equal(raw.status, 200);
  t.match(raw.headers.get('content-type'), /^application\/json/);
  t.equal(raw.text, '3', 'raw of one selected output');
});

t.test('a generic process prints its inputs back (sync and async)', async (t) => {
  const sync = await execute(tests, 'generic-inputs', { inputs: { token: API_TOKEN, name: 'Grace' }, response: 'document' });
  t.equal(sync.status, 200);
  const body = expectOgc(t, 'results', sync.json<{ inputs: string }>(), 'generic sync');
  t.same(JSON.parse(body.inputs), { name: 'Grace' });
  const response = await execute(tests, 'generic-inputs', { inputs: { token: API_TOKEN, name: 'Linus' } }, { prefer: 'respond-async' });
  const id = accepted(t, tests, response, 'generic async');
  await finalStatus(t, tests, id, 'successful');
  t.same(JSON.parse((await tests.request('GET', `/jobs/${id}/results`)).text), { name: 'Linus' }, 'the one output, raw');
});

t.test('a failing process: the failure is reported, never as results', async (t) => {
  const sync = await execute(tests, 'generic-fail', {});
  t.ok(sync.status >= 400 && sync.status !== 404, `sync: an error status (${sync.status})`);
  const error = expectOgc(t, 'exception', sync.json<{ type: string; detail: string }>(), 'sync failure');
  t.match(error.detail, /exit code 3/, 'names the exit code');

  const id = accepted(t, tests, await execute(tests, 'generic-fail', {}, { prefer: 'respond-async' }), 'async failure');
  const status = await finalStatus(t, tests, id, 'failed');
  t.match(String(status.message), /exit code 3/, 'the status message names the exit code');
  t.notOk((status.links as Link[]).some((l) => l.rel === RESULTS_REL), 'no results link');
  const results = await tests.request('GET', `/jobs/${id}/results`);
  t.ok(results.status >= 400 && results.status !== 404, `results of a failed job: an error (${results.status})`);
  const failure = expectOgc(t, 'exception', results.json<{ type: string; detail: string }>(), 'failed results');
  t.match(failure.detail, /exit code 3/);
  const logs = await tests.request('GET', `/jobs/${id}/logs`);
  t.match(logs.text, /about to fail/);
  t.match(logs.text, /boom/, 'stderr is in the log too');
});

t.test('a synchronous execution past the limit turns into an asynchronous one', async (t) => {
  const response = await execute(slow, 'echo', { inputs: { stringInput: 'slow', pause: 3 } });
  const id = accepted(t, slow, response, 'sync past the 1 s limit');
  await finalStatus(t, slow, id, 'successful');
  t.equal((await slow.request('GET', `/jobs/${id}/results`)).text, 'slow', 'the raw output, as the synchronous answer would have been');
});

t.test('client errors: honest 4xx with OGC exceptions naming the problem, never a 500', async (t) => {
  const rows: Array<[string, string, unknown, Record<string, string>, number, RegExp]> = [
    ['malformed JSON', 'echo', '{"inputs": {', {}, 400, /JSON/i],
    ['body is not an object', 'echo', '[1, 2]', {}, 400, /^body must be a JSON object$/],
    ['inputs is not an object', 'echo', { inputs: ['a'] }, {}, 400, /^body\/inputs must be a JSON object$/],
    ['an output definition is not an object', 'echo', { inputs: { stringInput: 'x' }, outputs: { stringInput: 'value' } }, {}, 400, /^body\/outputs\/stringInput must be a JSON object$/],
    ['unknown transmission mode', 'echo', { inputs: { stringInput: 'x' }, outputs: { stringInput: { transmissionMode: 'stream' } } }, {}, 400, /^body\/outputs\/stringInput\/transmissionMode must be one of "value", "reference"$/],
    ['unknown output', 'echo', { inputs: { stringInput: 'x' }, outputs: { nope: {} } }, {}, 400, /no output "nope"/],
    ['subscriber is not an object', 'echo', { inputs: { stringInput: 'x' }, subscriber: 'http://example.org/' }, {}, 400, /^body\/subscriber must be a JSON object$/],
    ['unknown callback', 'echo', { inputs: { stringInput: 'x' }, subscriber: { doneUri: 'http://example.org/' } }, {}, 400, /^body\/subscriber has no property "doneUri"$/],
    ['a callback that is not a string', 'echo', { inputs: { stringInput: 'x' }, subscriber: { successUri: { href: 'http://example.org/' } } }, {}, 400, /^body\/subscriber\/successUri must be a string$/],
    ['missing required input', 'echo', { inputs: {} }, {}, 400, /stringInput/],
    ['input of the wrong type', 'echo', { inputs: { stringInput: 'x', pause: 'long' } }, {}, 400, /pause/],
    ['input against its schema', 'echo', { inputs: { stringInput: 'x', pause: -1 } }, {}, 400, /pause/],
    ['unknown response mode', 'echo', { inputs: { stringInput: 'x' }, response: 'stream' }, {}, 400, /^body\/response must be one of "raw", "document"$/],
    ['bad subscriber', 'echo', { inputs: { stringInput: 'x' }, subscriber: { successUri: 'ftp://x' } }, {}, 400, /successUri/],
    ['not JSON at all', 'echo', 'stringInput,x', { 'content-type': 'text/csv' }, 415, /application\/json/],
    ['token missing', 'generic-inputs', { inputs: { name: 'x' } }, {}, 401, /token/],
    ['token wrong', 'generic-inputs', { inputs: { name: 'x', token: `${API_TOKEN}x` } }, {}, 403, /token/],
    ['token of the wrong type', 'generic-inputs', { inputs: { name: 'x', token: 42 } }, {}, 403, /token/],
  ];
  for (const [what, processId, body, headers, status, detail] of rows) {
    const response = await execute(tests, processId, body, headers);
    t.equal(response.status, status, `${what}: ${status}`);
    const error = expectOgc(t, 'exception', response.json<{ detail: string; status: number }>(), what);
    t.match(error.detail, detail, `${what}: detail says why`);
    t.equal(error.status, status, `${what}: status in the body`);
  }
  const empty = await tests.request('POST', '/processes/echo/execution', { headers: { 'content-type': 'application/json' }, body: '' });
  t.equal(empty.status, 400, 'no body: 400');
  t.equal(empty.json<{ detail: string }>().detail, 'body must be a JSON object', 'no body: an execute request is a JSON object');
  const big = JSON.stringify({ inputs: { stringInput: 'x'.repeat(1024 * 1024 + 10) } });
  const tooLarge = await execute(tests, 'echo', big);
  t.equal(tooLarge.status, 413, 'a body over 1 MiB: 413');
  expectOgc(t, 'exception', tooLarge.json(), 'too large');
  const unauthorised = await execute(tests, 'generic-inputs', { inputs: {} });
  t.ok(unauthorised.headers.get('www-authenticate'), '401 carries WWW-Authenticate');
  const jobs = await tests.batch.listNamespacedJob({ namespace: 'tests' });
  const refused = jobs.items.filter((j) => j.metadata?.annotations?.['pygeoapi.io/parameters']?.includes('"x"'));
  t.same(refused, [], 'no Job was created for a refused request');
});

t.test('the token never reaches Kubernetes, logs or documents', async (t) => {
  const marker = 'visible-marker-41c9';
  const response = await execute(tests, 'generic-inputs', { inputs: { token: API_TOKEN, name: marker, count: 5 } }, { prefer: 'respond-async' });
  const id = accepted(t, tests, response, 'execution with the token');
  await finalStatus(t, tests, id, 'successful');
  const job = await tests.batch.readNamespacedJob({ namespace: 'tests', name: `pygeoapi-job-${id}` });
  const pods = (await tests.core.listNamespacedPod({ namespace: 'tests', labelSelector: `job-name=pygeoapi-job-${id}` })).items;
  t.ok(pods.length > 0, 'the job has pods');
  const events = (await tests.core.listNamespacedEvent({ namespace: 'tests' })).items;
  const podLogs: string[] = [];
  for (const pod of pods as V1Pod[]) {
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      podLogs.push(await tests.core.readNamespacedPodLog({ namespace: 'tests', name: pod.metadata!.name!, container: c.name }));
    }
  }
  const places: Array<[string, string]> = [
    ['the Job', JSON.stringify(job)],
    ['its pods (env of every container and init container, annotations)', JSON.stringify(pods)],
    ['the Events', JSON.stringify(events)],
    ['the pod logs', podLogs.join('\n')],
    ['/jobs/{id}', (await tests.request('GET', `/jobs/${id}`)).text],
    ['/jobs', (await tests.request('GET', '/jobs?limit=40')).text],
    ['/jobs/{id}/results', (await tests.request('GET', `/jobs/${id}/results`)).text],
    ['/jobs/{id}/logs', (await tests.request('GET', `/jobs/${id}/logs`)).text],
    ['the 201 answer', response.text],
    ["the API's log (debug level)", tests.logText()],
  ];
  for (const [where, text] of places) t.notOk(text.includes(API_TOKEN), `no token in ${where}`);
  // The search can find things: the other inputs are in each of these places.
  for (const [where, text] of places.slice(0, 2)) t.ok(text.includes(marker), `control: the name input is in ${where}`);
  t.ok(tests.logText().includes(id), "control: the API's log mentions the job");
  t.ok(podLogs.join('\n').includes(marker), 'control: the job printed its inputs, init container included');
  t.match(podLogs[0], /init for generic-inputs/, 'the init container saw the job environment');
  t.ok(pods.every((p) => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].every((c) => c.env?.some((e) => e.name === 'PYGEOAPI_K8S_MANAGER_INPUTS'))), 'every container has the inputs variable');
});

t.test('the shipped generic-image-example: a Job with every setting, the token checked and removed', async (t) => {
  const response = await execute(shipped, 'generic-image-example', { inputs: { token: API_TOKEN, name: 'World' } }, { prefer: 'respond-async' });
  const id = accepted(t, shipped, response, 'generic-image-example');
  const job = await shipped.batch.readNamespacedJob({ namespace: 'shipped', name: `pygeoapi-job-${id}` });
  const pod = job.spec?.template.spec;
  t.match(pod?.containers[0], { image: 'python:3.13-alpine', volumeMounts: [{ mountPath: '/data' }, { mountPath: '/scratch' }] });
  t.match(pod?.volumes, [{ persistentVolumeClaim: { claimName: 'example-data' } }, { emptyDir: { medium: 'Memory' } }]);
  t.match(pod?.initContainers, [{ name: 'prepare' }]);
  t.equal(job.spec?.activeDeadlineSeconds, 3600);
  t.notOk(JSON.stringify(job).includes(API_TOKEN), 'no token in the Job');
  // local-cluster has no volumes, so the init container cannot write /scratch: stop the job.
  const dismissed = await shipped.request('DELETE', `/jobs/${id}`);
  t.equal(dismissed.status, 200);
  await waitFor(
    async () => (await shipped.core.listNamespacedPod({ namespace: 'shipped', labelSelector: `job-name=pygeoapi-job-${id}` })).items.length === 0,
    { what: 'the dismissed job’s pods to go', timeoutMs: 15_000 },
  );
});
