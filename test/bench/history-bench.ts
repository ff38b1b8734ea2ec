/**
 * Scale benchmark: the API with BENCH_LIVE live Jobs (suspended, in
 * local-cluster) and BENCH_ARCHIVED archived jobs (default 100 000;
 * `BENCH=history-1m` runs it with 1 000 000) in the embedded S3. The API runs as `k8s-job-manager serve
 * --api` in its own process; autocannon drives it from another process, and
 * a bare fastify process answering the same paths with the same bodies is
 * measured in the same run, so every route is reported as a ratio.
 *
 * The history is written as compaction leaves it, straight into s3rver's
 * files: one segment per hour (BENCH_PER_HOUR jobs each), plus job records
 * for the jobs fetched by id. Per-job entry objects (only read to rebuild a
 * corrupt segment) are not written: s3rver stores each object as three
 * files, and a million of them would take longer than the rest of the
 * benchmark.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalCluster } from '../../local-cluster/index.js';
import { JOB } from '../../local-cluster/api-server/resources.js';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from '../../cmd/local/embedded-s3.js';
import { encodeCursor, segmentDocument, segmentKey, type HistoryEntry } from '../../lib/archive/history-layout.js';
import { jobRecordKey } from '../../lib/archive/layout.js';
import { ANNOTATIONS, MANAGED_LABEL, MANAGED_LABEL_VALUE, jobNameFor } from '../../lib/contract.js';
import { API_NODE_OPTIONS, UNLIMITED, apiReady, startBaseline, compare, freePort, managerProcess, rssMb, stopAll } from './processes.js';
import type { RecordedAnswer } from './bare-server.js';

const NAMESPACE = 'default';
const BUCKET = 'bench-archive';
const PROCESSES = ['echo', 'hello-world-k8s', 'generic-json'];

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** The archived jobs of hour `h` (from 2024-01-01), `perHour` of them, deterministic. */
function hourEntries(h: number, perHour: number): HistoryEntry[] {
  const hourStart = Date.UTC(2024, 0, 1) + h * 3_600_000;
  return Array.from({ length: perHour }, (_, i) => {
    const created = hourStart + Math.floor((i * 3_600_000) / perHour);
    const roll = (h * 7 + i * 13) % 20;
    const status = roll < 16 ? 'successful' : roll < 19 ? 'failed' : 'dismissed';
    return {
      jobID: `${hex(h, 8)}-0000-4000-8000-${hex(i, 12)}`,
      type: 'process' as const,
      processID: PROCESSES[(h + i) % PROCESSES.length]!,
      status,
      message: status === 'successful' ? 'job completed' : status === 'failed' ? 'container exited with 1' : 'dismissed by request',
      created: new Date(created).toISOString(),
      started: new Date(created + 1_000).toISOString(),
      finished: new Date(created + 61_000).toISOString(),
      updated: new Date(created + 61_000).toISOString(),
      progress: 100,
    };
  });
}

async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Writes one object the way s3rver's filesystem store keeps it (the object,
 * its MD5 and its metadata as files under `<directory>/<bucket>/<key>`): a
 * million records are written in seconds instead of the minutes 25 000 PUTs
 * through s3rver would take. What the API then reads goes through S3 as usual.
 */
async function putDirect(directory: string, key: string, body: string): Promise<void> {
  const file = path.join(directory, BUCKET, key);
  await mkdir(path.dirname(file), { recursive: true });
  const base = `${file}._S3rver_`;
  await Promise.all([
    writeFile(`${base}object`, body),
    writeFile(`${base}object.md5`, createHash('md5').update(body).digest('hex')),
    writeFile(`${base}metadata.json`, JSON.stringify({ 'content-type': 'application/json' })),
  ]);
}

async function timed(url: string): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${body.slice(0, 200)}`);
  return { ms: Number((performance.now() - t0).toFixed(1)), body };
}

export async function run(archived = Number(process.env.BENCH_ARCHIVED ?? 100_000)): Promise<Record<string, unknown>> {
  const archivedCount = archived;
  const liveCount = Number(process.env.BENCH_LIVE ?? 1_000);
  const perHour = Number(process.env.BENCH_PER_HOUR ?? 40);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const hours = Math.ceil(archivedCount / perHour);
  const directory = await mkdtemp(path.join(tmpdir(), 'history-bench-'));
  const children: ChildProcess[] = [];
  const s3Directory = path.join(directory, 's3');
  const s3 = await startEmbeddedS3({ directory: s3Directory, bucket: BUCKET });
  const cluster = await startLocalCluster({ containerRemovalDelayMs: 1000 });
  try {
    // The archive: one segment per hour, as compaction leaves it.
    const writeStarted = performance.now();
    const hourName = (h: number): string => new Date(Date.UTC(2024, 0, 1) + h * 3_600_000).toISOString().slice(0, 13);
    await inParallel(
      Array.from({ length: hours }, (_, h) => h),
      32,
      (h) => putDirect(s3Directory, segmentKey('', NAMESPACE, hourName(h)), JSON.stringify(segmentDocument(hourName(h), hourEntries(h, Math.min(perHour, archivedCount - h * perHour))))),
    );
    // Job records of 200 jobs spread over the history, for GET /jobs/{id}.
    const probes = Array.from({ length: 200 }, (_, k) => hourEntries(Math.floor((k * hours) / 200), perHour)[k % perHour]!);
    await inParallel(probes, 32, async (entry) => {
      const record = { status: entry, processId: entry.processID, parameters: { inputs: { message: 'bench' } }, logs: [], archivedAt: entry.updated };
      await putDirect(s3Directory, jobRecordKey('', NAMESPACE, jobNameFor(entry.jobID)), JSON.stringify(record));
    });
    const archiveWriteSeconds = Number(((performance.now() - writeStarted) / 1000).toFixed(1));

    // Live jobs: suspended, so no pods run.
    for (let i = 0; i < liveCount; i++) {
      const id = `live-${i.toString().padStart(6, '0')}`;
      await cluster.registry.create(
        JOB,
        NAMESPACE,
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: jobNameFor(id), labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE }, annotations: { [ANNOTATIONS.identifier]: id, [ANNOTATIONS.processId]: 'echo' } },
          spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x', command: ['true'] }] } } },
        },
        { user: 'bench' },
      );
    }
    const kubeconfig = path.join(directory, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfig, NAMESPACE);

    // The API under test, in its own process.
    const [port, opsPort] = [await freePort(), await freePort()];
    const spawned = performance.now();
    const { child: api, entry } = await managerProcess(
      ['serve', '--api', '--config', 'pygeoapi-config.yaml', '--host', '127.0.0.1', '--port', String(port), '--ops-port', String(opsPort)],
      {
        KUBECONFIG: kubeconfig,
        LOG_LEVEL: 'warn',
        PYGEOAPI_K8S_MANAGER_NAMESPACE: NAMESPACE,
        PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'none',
        ...UNLIMITED,
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: s3.endpoint,
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: EMBEDDED_S3_CREDENTIALS.accessKeyId,
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: BUCKET,
        ...API_NODE_OPTIONS,
      },
    );
    children.push(api);
    const base = `http://127.0.0.1:${port}`;
    const { coldStartSeconds, coldStartCpuSeconds, rssAfterStartMb, peakRssAtStartMb } = await apiReady(api, opsPort, spawned, 300_000);

    // The routes, first touches timed one by one (S3 reads), answers recorded for the baseline.
    const middle = hourEntries(Math.floor(hours / 2), perHour)[0]!;
    const windowStart = new Date(Date.UTC(2024, 0, 1) + Math.floor(hours / 3) * 3_600_000).toISOString();
    const windowEnd = new Date(Date.parse(windowStart) + 6 * 3_600_000).toISOString();
    const routes: Record<string, string[]> = {
      'GET /jobs?limit=100 (first page)': ['/jobs?limit=100'],
      'GET /jobs?limit=100 deep (after a position half-way through the history)': [`/jobs?limit=100&after=${encodeCursor({ created: middle.created!, jobID: middle.jobID })}`],
      'GET /jobs?limit=100&processID=generic-json&status=failed': ['/jobs?limit=100&processID=generic-json&status=failed'],
      'GET /jobs?limit=100&datetime=(6 hours a third into the history)': [`/jobs?limit=100&datetime=${windowStart}/${windowEnd}`],
      'GET /jobs/{id} (archived, 200 ids)': probes.map((p) => `/jobs/${p.jobID}`),
    };
    const firstTouchMs: Record<string, number> = {};
    const answers: Record<string, RecordedAnswer> = {};
    for (const [name, paths] of Object.entries(routes)) {
      for (const [i, p] of paths.entries()) {
        const { ms, body } = await timed(`${base}${p}`);
        if (i === 0) firstTouchMs[name] = ms;
        answers[`GET ${p}`] = { status: 200, body };
      }
    }
    const deepJobs = (JSON.parse(answers[`GET ${routes['GET /jobs?limit=100 deep (after a position half-way through the history)']![0]!}`]!.body) as { jobs: unknown[] }).jobs.length;
    if (deepJobs !== 100) throw new Error(`the deep page listed ${deepJobs} jobs, not 100`);
    const peakRssAfterFirstTouchesMb = await rssMb(api.pid!, 'VmHWM');
    const bare = await startBaseline(directory, answers, children);

    const results: Record<string, unknown> = {};
    for (const [name, paths] of Object.entries(routes)) {
      results[name] = {
        firstTouchMs: firstTouchMs[name],
        ...(await compare({ url: base, pid: api.pid! }, bare, { paths, connections: 8, seconds })),
        peakRssMbSoFar: await rssMb(api.pid!, 'VmHWM'),
      };
    }
    return {
      archivedJobs: archivedCount,
      liveJobs: liveCount,
      hourSegments: hours,
      archiveWriteSeconds,
      archiveWriteNote: "segments and job records written straight into s3rver's files",
      apiProcess: `${entry} serve --api (LOG_LEVEL=warn, access control and limits off)`,
      coldStartSeconds,
      coldStartCpuSeconds,
      coldStartNote: 'process spawn to /readyz: caches synced, history hours listed',
      rssAfterStartMb,
      rssAfterLoadMb: await rssMb(api.pid!, 'VmRSS'),
      peakRssAtStartMb,
      peakRssAfterFirstTouchesMb,
      peakRssMb: await rssMb(api.pid!, 'VmHWM'),
      loadSecondsPerRun: seconds,
      connections: 8,
      routes: results,
    };
  } finally {
    await stopAll(children);
    await cluster.stop();
    await s3.stop();
    await rm(directory, { recursive: true, force: true });
  }
}
