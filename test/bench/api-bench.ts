/**
 * API benchmark: GET /jobs latency with 10 000 jobs in the watch cache
 * (suspended Jobs, so no pods run), and execute throughput against
 * local-cluster.
 */
import { resolve } from 'node:path';
import { Registry } from 'prom-client';
import { startLocalCluster } from '../../local-cluster/index.js';
import { JOB } from '../../local-cluster/api-server/resources.js';
import { startApi } from '../../api/index.js';
import { loadConfigFile } from '../../lib/config/index.js';
import { createLogger } from '../../lib/logging.js';
import { ANNOTATIONS, MANAGED_LABEL, MANAGED_LABEL_VALUE, jobNameFor } from '../../lib/contract.js';
import { load } from './stats.js';

/** Job ids are UUIDs (the API answers 404 to anything else); these are deterministic ones. */
export function benchJobId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`;
}

export async function run(): Promise<Record<string, unknown>> {
  const jobCount = Number(process.env.BENCH_JOBS ?? 10_000);
  const cluster = await startLocalCluster({ containerRemovalDelayMs: 1000 });
  try {
    const started = performance.now();
    for (let i = 0; i < jobCount; i++) {
      const id = benchJobId(i);
      await cluster.registry.create(JOB, 'default', {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name: jobNameFor(id),
          labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE },
          annotations: { [ANNOTATIONS.identifier]: id, [ANNOTATIONS.processId]: i % 2 ? 'echo' : 'hello-world-k8s' },
        },
        spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x', command: ['true'] }] } } },
      }, { user: 'bench' });
    }
    const seeded = performance.now() - started;
    // Without access control: this measures the API itself (test/bench/auth-bench.ts measures what access control adds).
    const { config } = loadConfigFile(resolve('pygeoapi-config.yaml'), { PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'none' });
    const apiStart = performance.now();
    const api = await startApi({ config, kubeConfig: cluster.kubeConfig(), namespace: 'default', host: '127.0.0.1', port: 0, logger: createLogger('bench', 'silent'), metrics: new Registry(), archiveLogs: false });
    const syncMs = performance.now() - apiStart;
    try {
      const get = (path: string) => async (): Promise<void> => {
        const response = await fetch(`${api.url}${path}`);
        if (!response.ok) throw new Error(`${path}: ${response.status}`);
        await response.arrayBuffer();
      };
      await load(50, 4, get('/jobs?limit=100'));
      const list = await load(2000, 8, get('/jobs?limit=100'));
      const filtered = await load(1000, 8, get('/jobs?limit=10&processID=echo&status=accepted'));
      const single = await load(2000, 8, get(`/jobs/${benchJobId(Math.floor(jobCount / 2))}`));
      const execute = await load(200, 8, async () => {
        const response = await fetch(`${api.url}/processes/echo/execution`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', prefer: 'respond-async' },
          body: JSON.stringify({ inputs: { stringInput: 'bench' } }),
        });
        if (response.status !== 201) throw new Error(`execute: ${response.status}`);
        await response.arrayBuffer();
      });
      return {
        jobsInCache: jobCount,
        seedSeconds: Number((seeded / 1000).toFixed(1)),
        apiStartAndSyncSeconds: Number((syncMs / 1000).toFixed(2)),
        'GET /jobs?limit=100': list,
        'GET /jobs filtered': filtered,
        'GET /jobs/{id}': single,
        'POST execution (async, echo)': execute,
      };
    } finally {
      await api.close();
    }
  } finally {
    await cluster.stop();
  }
}
