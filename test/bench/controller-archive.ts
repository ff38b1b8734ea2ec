/**
 * Controller benchmark: jobs print 1 MiB, 100 MiB and 1 GiB of numbered
 * 1 KiB lines (BENCH_LOG_BYTES: one size instead); the controller (a process
 * of its own, production part size and queue) captures each and archives it
 * to s3rver, uploading parts while the job runs. Reported per size: job end →
 * archived (the goal: ≤ 2 s), job start → archived, the archive throughput
 * (bytes / job start → archived) against the same bytes uploaded raw with a
 * multipart upload to the same s3rver in the same run (goal: ≥ 0.9×), how fast
 * the job itself printed (the archive cannot beat it), and the controller's
 * RSS at rest and at its peak (goal: < 100 MB with the 1 GiB log).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { V1Pod } from '@kubernetes/client-node';
import { startLocalCluster } from '../../local-cluster/index.js';
import { DEFAULT_TUNING } from '../../controller/settings.js';
import { startControllerProcess, transpiledFixture } from '../controller/helpers/process.js';
import { BUCKET, startTestS3 } from '../controller/helpers/s3.js';
import { bucketEnv, FAST_TUNING, PREFIX } from '../controller/helpers/controller.js';
import { jobsPath, podsOfJob, shellJob, testApi } from '../controller/helpers/kube.js';

const LINE = 1024;
const NS = 'bench';

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const seconds = (ms: number): number => Math.round(ms / 100) / 10;

/** Writes the job's expected output to `file`; returns its sha256. */
async function expectedOutput(file: string, lines: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  let batch: string[] = [];
  for (let i = 1; i <= lines; i++) {
    batch.push(`${String(i).padStart(LINE - 1, '0')}\n`);
    if (batch.length === 1024 || i === lines) {
      const chunk = batch.join('');
      hash.update(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      batch = [];
    }
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

async function poll<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const SIZES = process.env.BENCH_LOG_BYTES ? [Number(process.env.BENCH_LOG_BYTES)] : [1024 ** 2, 100 * 1024 ** 2, 1024 ** 3];

export async function run(): Promise<Record<string, unknown>> {
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'controller-bench-'));
  const cluster = await startLocalCluster({ namespaces: [NS], containerRemovalDelayMs: 60_000 });
  const api = testApi(cluster);
  try {
    const s3 = await startTestS3(t);
    const kubeconfigFile = path.join(dir, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfigFile);
    // Production part size and upload queue; fast leader election only so the bench starts at once.
    const tuning = { ...DEFAULT_TUNING, leaderElection: FAST_TUNING.leaderElection! };
    // Plain node on transpiled JavaScript, as deployed: tsx's loader would add ~100 MB to every figure.
    const script = await transpiledFixture(path.join(dir, 'product'));
    const controller = await startControllerProcess(t, { kubeconfigFile, namespace: NS, identity: 'bench', env: bucketEnv(s3.endpoint), tuning, nodeOptions: [], script });
    await controller.logged((l) => l.msg === 'became leader', 'the controller to lead');
    const baselineRss = await controller.rss();
    const logs: Array<Record<string, unknown>> = [];
    for (const [index, size] of SIZES.entries()) {
      const lines = Math.max(1, Math.floor(size / LINE));
      const bytes = lines * LINE;
      const job = `bench-${index}`;
      const started = Date.now();
      await api.create(jobsPath(NS), shellJob(job, { containers: [{ name: 'main', script: `seq -f '%0${LINE - 1}.0f' 1 ${lines}` }] }));
      let exited: number | undefined;
      const pod = await poll<V1Pod>(async () => {
        const [p] = await podsOfJob(api, NS, job);
        if (p?.status?.phase === 'Succeeded') exited ??= Date.now();
        return p?.metadata?.annotations?.['pygeoapi.io/log-archive'] ? p : undefined;
      }, 'the archive', 3_600_000);
      const archived = Date.now();
      const peakRss = await controller.peakRss();

      const key = `${PREFIX}${NS}/${job}/${pod.metadata!.name}/main.log`;
      const expectedFile = path.join(dir, `expected-${index}.log`);
      const expectedSha = await expectedOutput(expectedFile, lines);
      const stored = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const storedHash = createHash('sha256');
      for await (const chunk of stored.Body as AsyncIterable<Buffer>) storedHash.update(chunk);
      const identical = storedHash.digest('hex') === expectedSha;

      const rawStart = Date.now();
      await new Upload({
        client: s3.client,
        params: { Bucket: BUCKET, Key: `raw/expected-${index}.log`, Body: createReadStream(expectedFile) },
        partSize: tuning.partSizeBytes,
        queueSize: tuning.uploadQueueSize,
      }).done();
      const rawMs = Date.now() - rawStart;
      await rm(expectedFile, { force: true });
      const archiveMBps = mb(bytes) / ((archived - started) / 1000);
      const rawMBps = mb(bytes) / (rawMs / 1000);
      logs.push({
        logMB: mb(bytes),
        byteIdentical: identical,
        jobEndToArchivedSeconds: seconds(archived - (exited ?? archived)),
        jobStartToArchivedSeconds: seconds(archived - started),
        jobRunSeconds: seconds((exited ?? archived) - started),
        jobPrintMBps: Math.round(mb(bytes) / (((exited ?? archived) - started) / 1000)),
        archiveThroughputMBps: Math.round(archiveMBps),
        rawMultipartUploadSeconds: seconds(rawMs),
        rawMultipartThroughputMBps: Math.round(rawMBps),
        archiveToRawRatio: Math.round((archiveMBps / rawMBps) * 100) / 100,
        controllerPeakRssMB: mb(peakRss),
      });
    }
    await controller.kill('SIGTERM');
    // BENCH_CONTROLLER_LOG=file keeps the controller's own log, to see where the time went.
    if (process.env.BENCH_CONTROLLER_LOG) await writeFile(process.env.BENCH_CONTROLLER_LOG, controller.logs.map((l) => JSON.stringify(l)).join('\n'));
    return {
      partSizeMB: mb(tuning.partSizeBytes),
      uploadQueueSize: tuning.uploadQueueSize,
      controllerBaselineRssMB: mb(baselineRss),
      logs,
    };
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    api.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
