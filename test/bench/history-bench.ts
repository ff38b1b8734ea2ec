/**
 * Scale benchmark: the API with BENCH_LIVE live Jobs (suspended, in
 * local-cluster) and BENCH_ARCHIVED archived jobs (default 100 000; 1 000 000
 * is fine too) in the embedded S3. The API runs as `k8s-job-manager serve
 * --api` in its own process; autocannon drives it from another process, and
 * a bare fastify process answering the same paths with the same bodies is
 * measured in the same run, so every route is reported as a ratio.
 *
 * The history is written as compaction leaves it: one segment per hour
 * (BENCH_PER_HOUR jobs each), plus job records for the jobs fetched by id.
 * Per-job entry objects (only read to rebuild a corrupt segment) are not
 * written: s3rver stores each object as several files, and a million of
 * them would take longer than the rest of the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalCluster } from '../../local-cluster/index.js';
import { JOB } from '../../local-cluster/api-server/resources.js';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from '../../cmd/local/embedded-s3.js';
import { HistoryStore } from '../../lib/archive/history-store.js';
import { encodeCursor, type HistoryEntry } from '../../lib/archive/history-layout.js';
import { jobRecordKey } from '../../lib/archive/layout.js';
import { ANNOTATIONS, MANAGED_LABEL, MANAGED_LABEL_VALUE, jobNameFor } from '../../lib/contract.js';
import { waitFor } from '../helpers/wait-for.js';

const root = path.resolve(import.meta.dirname, '..', '..');
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((text) => {
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
    return Math.round(kb / 1024);
  });
}

async function builtIsFresh(): Promise<boolean> {
  const main = path.join(root, 'dist/cmd/main.js');
  if (!existsSync(main)) return false;
  const builtAt = (await stat(main)).mtimeMs;
  for (const folder of ['api', 'lib', 'cmd']) {
    for (const file of await readdir(path.join(root, folder), { recursive: true })) {
      if (file.endsWith('.ts') && (await stat(path.join(root, folder, file))).mtimeMs > builtAt) return false;
    }
  }
  return true;
}

/** A Node process running `script` (TypeScript through tsx, JavaScript as is). */
function childProcess(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return spawn(process.execPath, [...loader, path.join(root, script), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

interface LoadResult {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

async function drive(url: string, paths: string[], seconds: number): Promise<LoadResult> {
  const child = childProcess('test/bench/load-generator.ts', [JSON.stringify({ url, paths, connections: 8, seconds })]);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(out) as LoadResult;
}

async function timed(url: string): Promise<{ ms: number; body: string }> {
  const t0 = performance.now();
  const response = await fetch(url);
  const body = await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status} ${body.slice(0, 200)}`);
  return { ms: Number((performance.now() - t0).toFixed(1)), body };
}

export async function run(): Promise<Record<string, unknown>> {
  const archivedCount = Number(process.env.BENCH_ARCHIVED ?? 100_000);
  const liveCount = Number(process.env.BENCH_LIVE ?? 1_000);
  const perHour = Number(process.env.BENCH_PER_HOUR ?? 40);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const hours = Math.ceil(archivedCount / perHour);
  const directory = await mkdtemp(path.join(tmpdir(), 'history-bench-'));
  const children: ChildProcess[] = [];
  const s3 = await startEmbeddedS3({ directory: path.join(directory, 's3'), bucket: BUCKET });
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: EMBEDDED_S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const cluster = await startLocalCluster({ containerRemovalDelayMs: 1000 });
  try {
    // The archive: one segment per hour, newest hour last.
    const store = new HistoryStore({ s3: client, bucket: BUCKET, prefix: '', namespace: NAMESPACE });
    const writeStarted = performance.now();
    await inParallel(
      Array.from({ length: hours }, (_, h) => h),
      16,
      (h) => store.putSegment(new Date(Date.UTC(2024, 0, 1) + h * 3_600_000).toISOString().slice(0, 13), hourEntries(h, Math.min(perHour, archivedCount - h * perHour))),
    );
    // Job records of 200 jobs spread over the history, for GET /jobs/{id}.
    const probes = Array.from({ length: 200 }, (_, k) => hourEntries(Math.floor((k * hours) / 200), perHour)[k % perHour]!);
    await inParallel(probes, 16, async (entry) => {
      const record = { status: entry, processId: entry.processID, parameters: { inputs: { message: 'bench' } }, logs: [], archivedAt: entry.updated };
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: jobRecordKey('', NAMESPACE, jobNameFor(entry.jobID)), Body: JSON.stringify(record) }));
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
    // The compiled entry point (`npm run build`), as deployed, when it is newer than every source; else through tsx.
    const built = await builtIsFresh();
    const apiArgs = ['serve', '--api', '--config', 'pygeoapi-config.yaml', '--host', '127.0.0.1', '--port', String(port), '--ops-port', String(opsPort)];
    const api = childProcess(built ? 'dist/cmd/main.js' : 'cmd/main.ts', apiArgs, {
      KUBECONFIG: kubeconfig,
      LOG_LEVEL: 'warn',
      PYGEOAPI_K8S_MANAGER_NAMESPACE: NAMESPACE,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: s3.endpoint,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: BUCKET,
    });
    children.push(api);
    api.stdout!.resume();
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => ((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).ok ? true : undefined), { what: 'the API to be ready', timeoutMs: 180_000 });
    const coldStartSeconds = Number(((performance.now() - spawned) / 1000).toFixed(2));
    const rssAfterStartMb = await rssMb(api.pid!, 'VmRSS');

    // The routes, first touches timed one by one (S3 reads), bodies recorded for the baseline.
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
    const bodies: Record<string, string> = {};
    for (const [name, paths] of Object.entries(routes)) {
      for (const [i, p] of paths.entries()) {
        const { ms, body } = await timed(`${base}${p}`);
        if (i === 0) firstTouchMs[name] = ms;
        bodies[p] = body;
      }
    }
    const deepJobs = (JSON.parse(bodies[routes['GET /jobs?limit=100 deep (after a position half-way through the history)']![0]!]!) as { jobs: unknown[] }).jobs.length;
    if (deepJobs !== 100) throw new Error(`the deep page listed ${deepJobs} jobs, not 100`);
    const bodiesFile = path.join(directory, 'bodies.json');
    await writeFile(bodiesFile, JSON.stringify(bodies));
    const bare = childProcess('test/bench/bare-server.ts', [bodiesFile]);
    children.push(bare);
    const barePort = await new Promise<number>((resolve, reject) => {
      bare.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      bare.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
    });

    const results: Record<string, unknown> = {};
    for (const [name, paths] of Object.entries(routes)) {
      await drive(base, paths, 1);
      const ours = await drive(base, paths, seconds);
      const baseline = await drive(`http://127.0.0.1:${barePort}`, paths, seconds);
      results[name] = {
        ours,
        bareFastify: baseline,
        throughputRatio: Number((ours.perSecond / baseline.perSecond).toFixed(2)),
        p99Ratio: Number((ours.p99Ms / Math.max(baseline.p99Ms, 1)).toFixed(2)),
        firstTouchMs: firstTouchMs[name],
      };
    }
    return {
      archivedJobs: archivedCount,
      liveJobs: liveCount,
      hourSegments: hours,
      archiveWriteSeconds,
      coldStartSeconds,
      coldStartNote: `process spawn (${built ? 'dist/cmd/main.js' : 'tsx cmd/main.ts'}) to /readyz: caches synced, history hours listed`,
      rssAfterStartMb,
      rssAfterLoadMb: await rssMb(api.pid!, 'VmRSS'),
      peakRssMb: await rssMb(api.pid!, 'VmHWM'),
      loadSecondsPerRoute: seconds,
      connections: 8,
      routes: results,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    client.destroy();
    await cluster.stop();
    await s3.stop();
    await rm(directory, { recursive: true, force: true });
  }
}
