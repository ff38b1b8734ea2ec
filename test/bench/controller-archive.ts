/**
 * Controller benchmark: jobs print 1 MiB, 100 MiB and 1 GiB of numbered
 * 1 KiB lines (BENCH_LOG_BYTES: one size instead); the controller (a process
 * of its own: `serve --controller` of the build, as deployed) captures each and archives it to s3rver,
 * uploading parts while the job runs. S3 (s3rver with the embedded S3's
 * patches) is a process of its own too, as S3 is no part of the kubelet: the
 * bench process serves the pods' logs (local-cluster) and uploads the raw
 * baseline, S3 receives both. Reported per size, with the load average:
 *
 * - job end → archived (goal: ≤ 2 s), and beside it `s3CompleteSeconds`,
 *   what this S3 alone takes to complete a multipart upload of the same bytes
 *   (s3rver copies every byte then; AWS S3 does not): a floor no archive can go under here;
 * - following: bytes / (job start → archived) against a raw multipart upload
 *   of the same bytes to the same S3 in the same run. While the job runs the
 *   archive cannot go faster than the job prints (jobPrintMBps), so this
 *   ratio is capped by the job, not by the archive;
 * - backlog (the largest size): the "archive throughput vs raw
 *   multipart of the same bytes": the job runs to its end with no controller,
 *   then one starts; bytes / (leader → archived), the log's bytes all
 *   available from the start, against the same raw upload (goal ≥ 0.9×), and
 *   against what this kubelet serves of that log alone (kubectl logs
 *   --timestamps): local-cluster's log serving is JavaScript in the bench
 *   process, a ceiling a real kubelet does not set;
 * - the controller's RSS at rest and at its peak (goal: < 100 MB with 1 GiB),
 *   and its RSS once the log is archived: what of the peak stays (code and
 *   modules first used, heap grown) rather than passing with the log.
 *
 * BENCH_CONTROLLER_LOG=file keeps the controller's log; BENCH_CONTROLLER_CPU_PROF=dir
 * writes its CPU profiles there (node --cpu-prof), to see where time goes;
 * The controller runs with the node flags the deployment gives it (NODE_OPTIONS
 * in k8s-manifests/base/controller.yaml); BENCH_CONTROLLER_NODE_OPTIONS replaces
 * them (an empty string: node's defaults).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import type { V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { startLocalCluster } from '../../local-cluster/index.js';
import { DEFAULT_TUNING } from '../../controller/settings.js';
import { startControllerProcess } from '../controller/helpers/process.js';
import { builtIsFresh, freePort } from './processes.js';
import { fork, spawn } from 'node:child_process';
import { BUCKET, testS3Client } from '../controller/helpers/s3.js';
import type { S3Message } from '../chaos/s3-process.js';
import { bucketEnv, PREFIX } from '../controller/helpers/controller.js';
import { jobsPath, podsOfJob, shellJob, testApi } from '../controller/helpers/kube.js';

const LINE = 1024;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The NODE_OPTIONS the controller's Deployment sets, as the bench's default: figures for the controller as deployed. */
function deployedNodeOptions(): string {
  const manifest = parseYaml(readFileSync(new URL('../../k8s-manifests/base/controller.yaml', import.meta.url), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
  };
  const env = manifest.spec.template.spec.containers[0]?.env ?? [];
  return env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}
const CONTROLLER_NODE_OPTIONS = process.env.BENCH_CONTROLLER_NODE_OPTIONS ?? deployedNodeOptions();
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

/**
 * A raw multipart upload of `file` (no checksums, `queue` parts in flight, as
 * lib-storage's Upload does), timing the completion on its own.
 */
async function rawMultipart(client: S3Client, key: string, file: string, bytes: number, partSize: number, queue: number): Promise<{ ms: number; completeMs: number }> {
  const started = Date.now();
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const handle = await open(file, 'r');
  const etags: string[] = [];
  let next = 0;
  const count = Math.max(1, Math.ceil(bytes / partSize));
  async function worker(): Promise<void> {
    const buffer = Buffer.allocUnsafe(partSize);
    while (next < count) {
      const index = next++;
      const { bytesRead } = await handle.read(buffer, 0, Math.min(partSize, bytes - index * partSize), index * partSize);
      const answer = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: buffer.subarray(0, bytesRead), ContentLength: bytesRead }));
      etags[index] = answer.ETag!;
    }
  }
  try {
    await Promise.all(Array.from({ length: queue }, () => worker()));
  } finally {
    await handle.close();
  }
  const completing = Date.now();
  await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
  return { ms: Date.now() - started, completeMs: Date.now() - completing };
}

/** The stored object's SHA-256. */
async function storedSha(client: S3Client, key: string): Promise<string> {
  const stored = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of stored.Body as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** s3rver (the embedded S3's patches, no faults) in a process of its own; its endpoint and a client of it. */
async function startS3Process(directory: string, teardown: (fn: () => unknown) => void): Promise<{ endpoint: string; client: S3Client }> {
  const child = fork(path.join(ROOT, 'test/chaos/s3-process.ts'), [directory, BUCKET, 'bench', '0', '0'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)));
  });
  const ready = await new Promise<Extract<S3Message, { type: 'ready' }>>((resolve, reject) => {
    child.on('message', (message: S3Message) => message.type === 'ready' && resolve(message));
    child.once('exit', (code) => reject(new Error(`the S3 process exited (${code}) before it was ready`)));
  });
  const client = testS3Client(ready.direct);
  teardown(() => client.destroy());
  return { endpoint: ready.direct, client };
}

/** `kubectl logs --timestamps` of a pod, its output thrown away. */
async function kubectlLogs(kubeconfig: string, pod: string): Promise<void> {
  const child = spawn('kubectl', ['logs', '-n', NS, pod, '--timestamps'], { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`kubectl logs ${pod} exited with ${code}`);
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
const load = (): number[] => os.loadavg().map((l) => Math.round(l * 10) / 10);

export async function run(): Promise<Record<string, unknown>> {
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'controller-bench-'));
  const cluster = await startLocalCluster({ namespaces: [NS], containerRemovalDelayMs: 60_000 });
  const api = testApi(cluster);
  const loadAtStart = load();
  try {
    const s3 = await startS3Process(path.join(dir, 's3'), t.teardown);
    const kubeconfigFile = path.join(dir, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfigFile);
    // Production settings throughout (a first leader takes a free lease at once; fast lease timings lose it under load).
    const tuning = DEFAULT_TUNING;
    // The controller as deployed: `serve --controller` of the build, with plain node (tsx's loader would add ~100 MB to every figure).
    if (!(await builtIsFresh())) throw new Error('the controller bench runs the build: npm run build first');
    const profileDir = process.env.BENCH_CONTROLLER_CPU_PROF;
    const controllerLogs: Array<Record<string, unknown>> = [];
    const startController = async (identity: string) => {
      const nodeOptions = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...CONTROLLER_NODE_OPTIONS.split(' ').filter(Boolean)];
      const argv = [path.join(ROOT, 'dist/cmd/main.js'), 'serve', '--controller', '--config', path.join(ROOT, 'pygeoapi-config.yaml'), '--ops-port', String(await freePort())];
      const env = { ...bucketEnv(s3.endpoint), KUBECONFIG: kubeconfigFile, PYGEOAPI_K8S_MANAGER_NAMESPACE: NS, HOSTNAME: identity, LOG_LEVEL: 'info' };
      const controller = await startControllerProcess(t, { kubeconfigFile, namespace: NS, identity, env, tuning, nodeOptions, command: { argv, readyMessage: 'k8s-job-manager ready' } });
      await controller.logged((l) => l.msg === 'became leader', 'the controller to lead', 120_000);
      return controller;
    };
    const stopController = async (controller: Awaited<ReturnType<typeof startController>>) => {
      await controller.kill('SIGTERM');
      controllerLogs.push(...controller.logs);
    };
    const runJob = async (job: string, lines: number) => {
      const started = Date.now();
      await api.create(jobsPath(NS), shellJob(job, { containers: [{ name: 'main', script: `seq -f '%0${LINE - 1}.0f' 1 ${lines}` }] }));
      return started;
    };
    /** Polls the job's pod until archived; the moment it was first seen Succeeded, if it was. */
    const archivedPod = async (job: string, seen: { exited?: number }) =>
      poll<V1Pod>(async () => {
        const [p] = await podsOfJob(api, NS, job);
        if (p?.status?.phase === 'Succeeded') seen.exited ??= Date.now();
        return p?.metadata?.annotations?.['pygeoapi.io/log-archive'] ? p : undefined;
      }, 'the archive', 3_600_000);
    /** Checks the archived bytes and uploads the same bytes raw. */
    const compare = async (index: number, job: string, pod: V1Pod, lines: number) => {
      const bytes = lines * LINE;
      const expectedFile = path.join(dir, `expected-${index}.log`);
      const expectedSha = await expectedOutput(expectedFile, lines);
      const identical = (await storedSha(s3.client, `${PREFIX}${NS}/${job}/${pod.metadata!.name}/main.log`)) === expectedSha;
      const raw = await rawMultipart(s3.client, `raw/expected-${index}.log`, expectedFile, bytes, tuning.partSizeBytes, tuning.uploadQueueSize);
      await rm(expectedFile, { force: true });
      return { identical, raw };
    };

    let controller = await startController('bench');
    const baselineRss = await controller.rss();
    const logs: Array<Record<string, unknown>> = [];
    for (const [index, size] of SIZES.entries()) {
      const lines = Math.max(1, Math.floor(size / LINE));
      const bytes = lines * LINE;
      const job = `bench-${index}`;
      const started = await runJob(job, lines);
      const seen: { exited?: number } = {};
      const pod = await archivedPod(job, seen);
      const archived = Date.now();
      const peakRss = await controller.peakRss();
      const rssAfter = await controller.rss();
      const { identical, raw } = await compare(index, job, pod, lines);
      const exited = seen.exited ?? archived;
      const archiveMBps = mb(bytes) / ((archived - started) / 1000);
      const rawMBps = mb(bytes) / (raw.ms / 1000);
      logs.push({
        logMB: mb(bytes),
        byteIdentical: identical,
        jobEndToArchivedSeconds: seconds(archived - exited),
        s3CompleteSeconds: seconds(raw.completeMs),
        jobStartToArchivedSeconds: seconds(archived - started),
        jobRunSeconds: seconds(exited - started),
        jobPrintMBps: Math.round(mb(bytes) / ((exited - started) / 1000)),
        archiveThroughputMBps: Math.round(archiveMBps),
        rawMultipartUploadSeconds: seconds(raw.ms),
        rawMultipartThroughputMBps: Math.round(rawMBps),
        archiveToRawRatio: ratio(archiveMBps, rawMBps),
        controllerPeakRssMB: mb(peakRss),
        controllerRssWhenArchivedMB: mb(rssAfter),
      });
    }
    await stopController(controller);

    // Backlog: the whole log there before the controller starts, so nothing but the archive sets the pace.
    const backlogLines = Math.max(1, Math.floor(SIZES[SIZES.length - 1]! / LINE));
    const backlogJob = 'bench-backlog';
    await runJob(backlogJob, backlogLines);
    await poll(async () => ((await podsOfJob(api, NS, backlogJob))[0]?.status?.phase === 'Succeeded' ? true : undefined), 'the backlog job to end', 3_600_000);
    // What the kubelet here (local-cluster, in the bench process) serves alone: the same log with timestamps, as
    // the controller asks for it, read by kubectl (a client that costs next to nothing). No archive can go faster.
    const [backlogPodBefore] = await podsOfJob(api, NS, backlogJob);
    const kubeletStarted = Date.now();
    await kubectlLogs(kubeconfigFile, backlogPodBefore!.metadata!.name!);
    const kubeletMs = Date.now() - kubeletStarted;
    controller = await startController('bench-backlog');
    const leading = Date.now();
    const backlogPod = await archivedPod(backlogJob, {});
    const backlogArchived = Date.now();
    const backlogPeakRss = await controller.peakRss();
    await stopController(controller);
    const backlog = await compare(SIZES.length, backlogJob, backlogPod, backlogLines);
    const backlogMBps = mb(backlogLines * LINE) / ((backlogArchived - leading) / 1000);
    const backlogRawMBps = mb(backlogLines * LINE) / (backlog.raw.ms / 1000);

    if (process.env.BENCH_CONTROLLER_LOG) await writeFile(process.env.BENCH_CONTROLLER_LOG, controllerLogs.map((l) => JSON.stringify(l)).join('\n'));
    return {
      loadAverage: { atStart: loadAtStart, atEnd: load(), cores: os.cpus().length },
      controllerNodeOptions: CONTROLLER_NODE_OPTIONS,
      partSizeMB: mb(tuning.partSizeBytes),
      uploadQueueSize: tuning.uploadQueueSize,
      controllerBaselineRssMB: mb(baselineRss),
      logs,
      backlog: {
        logMB: mb(backlogLines * LINE),
        byteIdentical: backlog.identical,
        leaderToArchivedSeconds: seconds(backlogArchived - leading),
        archiveThroughputMBps: Math.round(backlogMBps),
        rawMultipartUploadSeconds: seconds(backlog.raw.ms),
        rawMultipartThroughputMBps: Math.round(backlogRawMBps),
        archiveToRawRatio: ratio(backlogMBps, backlogRawMBps),
        kubeletLogServeSeconds: seconds(kubeletMs),
        kubeletLogServeMBps: Math.round(mb(backlogLines * LINE) / (kubeletMs / 1000)),
        archiveToKubeletServeRatio: ratio(backlogMBps, mb(backlogLines * LINE) / (kubeletMs / 1000)),
        controllerPeakRssMB: mb(backlogPeakRss),
      },
    };
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    api.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
