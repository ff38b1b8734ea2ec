/**
 * Limits that protect the API and the cluster, end to end: requests per
 * minute per client address (429 + Retry-After), unfinished jobs per
 * principal and in total (429), and the default deadline on the Jobs made.
 */
import t from 'tap';
import { startTestCluster } from '../helpers/local-cluster.js';
import { jobIdOf, startApiHarness } from '../helpers/api-e2e.js';
import { SHIPPED_CONFIG } from '../helpers/api-processes.js';
import { ANNOTATIONS } from '../../lib/contract.js';

const cluster = await startTestCluster(t, { namespaces: ['rate', 'caps', 'cap-all'] });

t.test('requests per minute per client address: 429 with Retry-After', async (t) => {
  const api = await startApiHarness(t, { cluster, namespace: 'rate', configFile: SHIPPED_CONFIG, env: { PYGEOAPI_K8S_MANAGER_RATE_LIMIT_PER_MINUTE: '5' } });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await api.request('GET', '/processes')).status);
  t.same(statuses, [200, 200, 200, 200, 200], 'five are fine');
  const refused = await api.request('GET', '/processes');
  t.equal(refused.status, 429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} s`);
  t.match(refused.json(), { status: 429, detail: /more than 5 requests per minute from this address/ });
});

t.test('unfinished jobs per principal: 429 while one runs; the default deadline is set', async (t) => {
  const api = await startApiHarness(t, { cluster, namespace: 'caps', configFile: SHIPPED_CONFIG, env: { PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS_PER_PRINCIPAL: '1' } });
  const execute = () => api.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'slow', pause: 60 } }, headers: { prefer: 'respond-async' } });
  const first = await execute();
  t.equal(first.status, 201);
  const jobId = jobIdOf(first.headers.get('location'));
  await api.waitForStatus(jobId, ['accepted', 'running']);
  const second = await execute();
  t.equal(second.status, 429);
  t.match(second.json().detail, /you have 1 unfinished jobs, the most allowed \(PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS_PER_PRINCIPAL\)/);
  t.ok(second.headers.get('retry-after'));
  const job = await api.batch.readNamespacedJob({ namespace: 'caps', name: `pygeoapi-job-${jobId}` });
  t.equal(job.spec?.activeDeadlineSeconds, 86400, 'a 24 h deadline by default');
  t.match(job.metadata?.annotations?.[ANNOTATIONS.principalKey], /^[0-9a-f]{32}$/, 'a digest, not the address');
  t.equal(job.spec?.template.spec?.automountServiceAccountToken, false, 'no service account token in the pod');
  t.equal((await api.request('DELETE', `/jobs/${jobId}`)).status, 200, 'dismissed');
  await api.waitForStatus(jobId, ['dismissed']);
  t.equal((await execute()).status, 201, 'a new job once the first is done');
});

t.test('unfinished jobs in total: 429', async (t) => {
  const api = await startApiHarness(t, { cluster, namespace: 'cap-all', configFile: SHIPPED_CONFIG, env: { PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS: '1', PYGEOAPI_K8S_MANAGER_DEFAULT_ACTIVE_DEADLINE_SECONDS: '0' } });
  const execute = () => api.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'slow', pause: 60 } }, headers: { prefer: 'respond-async' } });
  const first = await execute();
  t.equal(first.status, 201);
  const jobId = jobIdOf(first.headers.get('location'));
  await api.waitForStatus(jobId, ['accepted', 'running']);
  const second = await execute();
  t.equal(second.status, 429);
  t.match(second.json().detail, /the server has 1 unfinished jobs/);
  const job = await api.batch.readNamespacedJob({ namespace: 'cap-all', name: `pygeoapi-job-${jobId}` });
  t.notOk(job.spec?.activeDeadlineSeconds, '0 switches the default deadline off');
  await api.request('DELETE', `/jobs/${jobId}`);
});
