/**
 * Bad bodies and inputs end to end, and a job whose pod cannot start: deep
 * nesting, non-JSON media types, oversized bodies and inputs, undeclared
 * inputs each get their 4xx naming the problem; a pod that fails with E2BIG
 * makes its job `failed` with the reason instead of `accepted` for ever.
 */
import t from 'tap';
import { startTestCluster } from '../helpers/local-cluster.js';
import { jobIdOf, startApiHarness } from '../helpers/api-e2e.js';
import { SHIPPED_CONFIG } from '../helpers/api-processes.js';

const cluster = await startTestCluster(t, { namespaces: ['bodies', 'bodies-big'] });
const api = await startApiHarness(t, { cluster, namespace: 'bodies', configFile: SHIPPED_CONFIG });
// Inputs limit raised far past what an environment variable can hold, to reach the pod.
const big = await startApiHarness(t, { cluster, namespace: 'bodies-big', configFile: SHIPPED_CONFIG, env: { PYGEOAPI_K8S_MANAGER_MAX_INPUTS_BYTES: String(1024 * 1024) } });

const execute = (body: unknown, headers: Record<string, string> = {}) => api.request('POST', '/processes/echo/execution', { body, headers: { prefer: 'respond-async', ...headers } });

t.test('client mistakes get their 4xx, naming the problem', async (t) => {
  const cases: Array<[string, () => ReturnType<typeof execute>, number, RegExp]> = [
    ['5000-deep nesting', () => execute(`{"inputs":{"stringInput":"x","n":${'['.repeat(5000)}${']'.repeat(5000)}}}`), 400, /nests deeper than 64 levels/],
    ['text/plain body', () => execute('{"inputs":{"stringInput":"x"}}', { 'content-type': 'text/plain' }), 415, /must be application\/json/],
    ['XML body', () => execute('<inputs/>', { 'content-type': 'application/xml' }), 415, /must be application\/json/],
    ['broken JSON', () => execute('{"inputs":', {}), 400, /not valid JSON/],
    ['inputs over 64 KiB', () => execute({ inputs: { stringInput: 'x'.repeat(70 * 1024) } }), 413, /the limit is 65536 bytes \(PYGEOAPI_K8S_MANAGER_MAX_INPUTS_BYTES\)/],
    ['a body over the body limit', () => execute({ inputs: { stringInput: 'x'.repeat(1200 * 1024) } }), 413, /exceeds 1048576 bytes/],
    ['an undeclared input', () => execute({ inputs: { stringInput: 'x', strnigInput: 'typo' } }), 400, /the process has no input "strnigInput"/],
  ];
  for (const [what, send, status, detail] of cases) {
    const response = await send();
    t.equal(response.status, status, `${what}: ${status}`);
    t.match(response.json().detail, detail, `${what}: detail`);
    t.ok(response.headers.get('x-request-id'), `${what}: a request id to quote`);
  }
  t.notMatch(api.logText(), /RangeError|Maximum call stack/, 'nothing overflowed');
});

t.test('a client request id that is a plain token is kept; others are replaced', async (t) => {
  const kept = await api.request('GET', '/processes', { headers: { 'x-request-id': 'abc-123' } });
  t.equal(kept.headers.get('x-request-id'), 'abc-123');
  const replaced = await api.request('GET', '/processes', { headers: { 'x-request-id': 'bad id <script>' } });
  t.match(replaced.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
});

t.test('a pod that cannot start (E2BIG) makes the job failed, with the reason', async (t) => {
  // 150 KiB in one environment variable: more than the kernel takes for one string (128 KiB).
  const response = await big.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'y'.repeat(150 * 1024) } }, headers: { prefer: 'respond-async' } });
  t.equal(response.status, 201);
  const status = await big.waitForStatus(jobIdOf(response.headers.get('location')), ['failed', 'successful'], 60_000);
  t.equal(status.status, 'failed');
  t.match(status.message, /argument list too long/);
});
