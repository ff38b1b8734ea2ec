/**
 * API benchmark: BENCH_JOBS (10 000) Jobs in local-cluster (suspended, so
 * no pods run), the API started as deployed (`k8s-job-manager serve --api`,
 * access control off: test/bench/auth-bench.ts measures what it adds) in its
 * own process, autocannon driving it from another, and a bare fastify
 * process answering the same requests with the bytes recorded from the API
 * measured in the same run. Reports cold start (spawn to /readyz: every Job
 * listed, watches open), RSS, and per route req/s, p50/p99 and server CPU per
 * request, each as a ratio to the baseline.
 */
import { resolve } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startLocalCluster } from '../../local-cluster/index.js';
import { JOB } from '../../local-cluster/api-server/resources.js';
import { ANNOTATIONS, MANAGED_LABEL, MANAGED_LABEL_VALUE, jobNameFor } from '../../lib/contract.js';
import { API_NODE_OPTIONS, UNLIMITED, apiReady, startBaseline, compare, freePort, managerProcess, rssMb, stopAll } from './processes.js';
import type { RecordedAnswer } from './bare-server.js';

const NAMESPACE = 'default';
const CONNECTIONS = 8;

/** Job ids are UUIDs (the API answers 404 to anything else); these are deterministic ones. */
export function benchJobId(i: number): string {
  return `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`;
}

export async function run(): Promise<Record<string, unknown>> {
  const jobCount = Number(process.env.BENCH_JOBS ?? 10_000);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const inputs = JSON.stringify({ message: 'x'.repeat(2_000) });
  const directory = await mkdtemp(path.join(tmpdir(), 'api-bench-'));
  const children: ChildProcess[] = [];
  const cluster = await startLocalCluster({ containerRemovalDelayMs: 1000 });
  try {
    const started = performance.now();
    for (let i = 0; i < jobCount; i++) {
      const id = benchJobId(i);
      // As the API makes them: the inputs in an annotation and in the container's env (what the cache must not keep).
      await cluster.registry.create(
        JOB,
        NAMESPACE,
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: {
            name: jobNameFor(id),
            labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE },
            annotations: { [ANNOTATIONS.identifier]: id, [ANNOTATIONS.processId]: i % 2 ? 'echo' : 'hello-world-k8s', [ANNOTATIONS.parameters]: inputs },
          },
          spec: {
            suspend: true,
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x', command: ['true'], env: [{ name: 'PYGEOAPI_K8S_MANAGER_INPUTS', value: inputs }] }] } },
          },
        },
        { user: 'bench' },
      );
    }
    const seedSeconds = Number(((performance.now() - started) / 1000).toFixed(1));
    const kubeconfig = path.join(directory, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfig, NAMESPACE);

    const [port, opsPort] = [await freePort(), await freePort()];
    const spawned = performance.now();
    const { child: api, entry } = await managerProcess(
      ['serve', '--api', '--config', resolve('pygeoapi-config.yaml'), '--host', '127.0.0.1', '--port', String(port), '--ops-port', String(opsPort)],
      { KUBECONFIG: kubeconfig, LOG_LEVEL: 'warn', PYGEOAPI_K8S_MANAGER_NAMESPACE: NAMESPACE, PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'none', ...UNLIMITED, ...API_NODE_OPTIONS },
    );
    children.push(api);
    const { coldStartSeconds, coldStartCpuSeconds, rssAfterStartMb, peakRssAtStartMb } = await apiReady(api, opsPort, spawned, 180_000);
    const base = `http://127.0.0.1:${port}`;

    // What each route answers, recorded for the baseline (and checked).
    const routes: Record<string, string[]> = {
      'GET /jobs?limit=100': ['/jobs?limit=100'],
      'GET /jobs?limit=100 (page 50, by cursor)': [],
      'GET /jobs?limit=10&processID=echo&status=accepted': ['/jobs?limit=10&processID=echo&status=accepted'],
      'GET /jobs/{id} (200 ids)': Array.from({ length: 200 }, (_, k) => `/jobs/${benchJobId(Math.floor((k * jobCount) / 200))}`),
    };
    const answers: Record<string, RecordedAnswer> = {};
    const record = async (p: string): Promise<Response> => {
      const response = await fetch(`${base}${p}`);
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${p}: ${response.status} ${body.slice(0, 200)}`);
      answers[`GET ${p}`] = { status: 200, body };
      return new Response(body, { headers: response.headers });
    };
    // Follow `next` 49 times to a deep page; its path is then measured like the others.
    let next = '/jobs?limit=100';
    for (let page = 1; page < 50 && page * 100 < jobCount; page++) {
      const body = (await (await record(next)).json()) as { links: Array<{ rel: string; href: string }> };
      const href = body.links.find((l) => l.rel === 'next')?.href;
      if (!href) throw new Error(`page ${page} has no next link`);
      next = new URL(href).pathname + new URL(href).search;
    }
    routes['GET /jobs?limit=100 (page 50, by cursor)'] = [next];
    for (const paths of Object.values(routes)) for (const p of paths) await record(p);
    const listed = (JSON.parse(answers['GET /jobs?limit=100']!.body) as { jobs: unknown[] }).jobs.length;
    if (listed !== Math.min(100, jobCount)) throw new Error(`the first page listed ${listed} jobs`);

    // The job document answers 304 to its ETag.
    const single = routes['GET /jobs/{id} (200 ids)']![0]!;
    const etag = (await fetch(`${base}${single}`)).headers.get('etag');
    const revalidated = await fetch(`${base}${single}`, { headers: { 'if-none-match': etag ?? '' } });
    if (!etag || revalidated.status !== 304) throw new Error(`GET ${single} with If-None-Match: ${revalidated.status}, not 304`);

    // Executions create Jobs: a fixed number of them, answered 201 by the API (the baseline answers the recorded 201).
    const executeBody = JSON.stringify({ inputs: { stringInput: 'bench' } });
    const executed = await fetch(`${base}/processes/echo/execution`, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'respond-async' }, body: executeBody });
    if (executed.status !== 201) throw new Error(`execute: ${executed.status} ${await executed.text()}`);
    answers['POST /processes/echo/execution'] = { status: 201, body: await executed.text() };

    const bare = await startBaseline(directory, answers, children);

    const results: Record<string, unknown> = {};
    for (const [name, paths] of Object.entries(routes)) {
      results[name] = await compare({ url: base, pid: api.pid! }, bare, { paths, connections: CONNECTIONS, seconds });
    }
    const peakRssAfterReadsMb = await rssMb(api.pid!, 'VmHWM');
    const executions = Number(process.env.BENCH_EXECUTIONS ?? 200);
    results['POST /processes/echo/execution (async)'] = await compare(
      { url: base, pid: api.pid! },
      bare,
      { post: { path: '/processes/echo/execution', body: executeBody, contentType: 'application/json' }, connections: CONNECTIONS, seconds, amount: executions },
    );
    return {
      jobsInCluster: jobCount,
      inputsBytesPerJob: inputs.length * 2,
      seedSeconds,
      apiProcess: `${entry} serve --api (LOG_LEVEL=warn, access control and limits off)`,
      coldStartSeconds,
      coldStartCpuSeconds,
      coldStartNote: 'process spawn to /readyz: every Job listed into the watch cache, watches open',
      rssAfterStartMb,
      rssAfterLoadMb: await rssMb(api.pid!, 'VmRSS'),
      peakRssMb: await rssMb(api.pid!, 'VmHWM'),
      peakRssNote: `highest RSS by then: ${peakRssAtStartMb} MB at start, ${peakRssAfterReadsMb} MB after the read routes, peakRssMb after the executions too`,
      connections: CONNECTIONS,
      loadSecondsPerRun: seconds,
      routes: results,
    };
  } finally {
    await stopAll(children);
    await cluster.stop();
    await rm(directory, { recursive: true, force: true });
  }
}
