/**
 * `npm run chaos -- --jobs N --kills K [--seed S]`: the whole system under
 * faults, then every archived log checked byte for byte against what the jobs
 * printed. Prints one verdict line (`chaos: PASS …` / `chaos: FAIL …`) and
 * exits 0 or 1 (2 for bad usage). See README, "Chaos run".
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { jobRecordKey } from '../../lib/archive/layout.js';
import { jobNameFor, LOG_FINALIZER, MANAGED_LABEL, MANAGED_LABEL_VALUE } from '../../lib/contract.js';
import { isApiError } from '../../lib/kube/http.js';
import { resultValue } from './job-output.mjs';
import { planChaos, type ApiFault, type PlannedJob, type PlannedKill } from './plan.js';
import { seededRandom } from './prng.js';
import { BUCKET, JOBS_NAMESPACE, PREFIX, startSystem, type System } from './system.js';
import { CONTAINER_NAMES, readReceipts, verifyJob, type ArchiveAccess, type Finding, type SubmittedJob } from './verify.js';

export interface RunOptions {
  jobs: number;
  kills: number;
  seed: string;
  replicas: number;
  maxBytes: number;
  /** Jobs running at once, at most (the machine runs every container as a process). */
  maxActive: number;
  settleTimeoutMs: number;
  /** Stop submitting after this long (the rest of the plan is skipped; every kill still happens). */
  submitForMs?: number;
  /** Keep the run folder (logs of every process, the S3 files, receipts) even when the run passes. */
  keep: boolean;
  /** Progress lines go here (stderr by default). */
  progress(line: string): void;
}

export interface RunResult {
  pass: boolean;
  verdict: string;
  findings: Finding[];
  dir: string;
}

const JOB_PROGRAM = path.join(import.meta.dirname, 'job.mjs');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Tracked extends SubmittedJob {
  finishedAt?: number;
  deleted: boolean;
  dismissing: boolean;
  runningSince?: number;
}

function finishedCondition(job: V1Job): string | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type;
}

function mainRunning(pod: V1Pod): boolean {
  return (pod.status?.containerStatuses ?? []).some((c) => c.state?.running !== undefined);
}

export async function runChaos(options: RunOptions): Promise<RunResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `k8s-job-manager-chaos-${options.seed}-`));
  const truth = path.join(dir, 'truth');
  await mkdir(truth, { recursive: true });
  const started = Date.now();
  const elapsed = (at = Date.now()): string => `${((at - started) / 1000).toFixed(1)}s`;
  const timeline: Array<{ at: number; text: string }> = [];
  const note = (text: string): void => {
    timeline.push({ at: Date.now(), text });
    options.progress(`chaos ${elapsed()} ${text}`);
  };
  const plan = planChaos({ jobs: options.jobs, kills: options.kills, seed: options.seed, replicas: options.replicas, maxBytes: options.maxBytes, truth });
  note(`run folder ${dir}; starting local-cluster, S3 behind the fault proxy, webhook, API and ${options.replicas} controller replicas`);
  const system = await startSystem({
    dir,
    seed: options.seed,
    replicas: options.replicas,
    jobProgram: JOB_PROGRAM,
    // Long enough that no log leaves the node before a live controller could have read it.
    removalDelayMs: 60_000,
    s3Faults: { refuse: 0.1, cut: 0.1 },
    note,
  });
  running = system;
  const s3 = new S3Client({
    endpoint: system.s3Direct,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    return await drive(options, plan.jobs, plan.kills, plan.faults, system, s3, { dir, truth, started, timeline, note, elapsed });
  } finally {
    s3.destroy();
    running = undefined;
    await system.stop();
  }
}

/** The system of the run in progress, stopped on SIGINT/SIGTERM so no process outlives the run. */
let running: System | undefined;

interface RunContext {
  dir: string;
  truth: string;
  started: number;
  timeline: Array<{ at: number; text: string }>;
  note(text: string): void;
  elapsed(at?: number): string;
}

async function drive(
  options: RunOptions,
  jobs: PlannedJob[],
  kills: PlannedKill[],
  faults: ReturnType<typeof planChaos>['faults'],
  system: System,
  s3: S3Client,
  ctx: RunContext,
): Promise<RunResult> {
  const { note } = ctx;
  const tracked: Tracked[] = [];
  const managed = `${MANAGED_LABEL}=${MANAGED_LABEL_VALUE}`;
  let pods: V1Pod[] = [];
  let stopTicker = false;
  const counts = { kills: 0, dismissed: 0, deleted: 0, apiFaults: { 'drop-watches': 0, gone: 0, stall: 0, errors: 0 } as Record<ApiFault['kind'], number> };

  // --- observing: Jobs and pods twice a second (errors while the API server fails are skipped) ---
  const tick = async (): Promise<void> => {
    const [jobList, podList] = await Promise.all([
      system.kube.request<{ items: V1Job[] }>({ path: `/apis/batch/v1/namespaces/${JOBS_NAMESPACE}/jobs`, query: { labelSelector: managed } }),
      system.kube.request<{ items: V1Pod[] }>({ path: `/api/v1/namespaces/${JOBS_NAMESPACE}/pods`, query: { labelSelector: managed } }),
    ]);
    pods = podList.items;
    const jobsByName = new Map(jobList.items.map((j) => [j.metadata?.name ?? '', j]));
    for (const job of tracked) {
      const current = jobsByName.get(job.jobName);
      if (job.finishedAt === undefined && (!current || finishedCondition(current))) {
        job.finishedAt = Date.now();
        if (job.planned.deleteWhenFinished && current) void deleteJob(job);
      }
      const pod = pods.find((p) => p.metadata?.labels?.['job-name'] === job.jobName && mainRunning(p));
      if (pod && job.runningSince === undefined) job.runningSince = Date.now();
      if (job.planned.dismissAfterMs !== undefined && !job.dismissing && job.finishedAt === undefined && job.runningSince !== undefined) {
        if (Date.now() - job.runningSince >= job.planned.dismissAfterMs) void dismiss(job);
      }
    }
  };
  const ticker = (async () => {
    while (!stopTicker) {
      await tick().catch(() => undefined);
      await sleep(500);
    }
  })();

  const retrying = async <T>(what: string, call: () => Promise<T>, attempts = 40): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await call();
      } catch (error) {
        if (i >= attempts) throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        await sleep(250 * Math.min(i, 8));
      }
    }
  };
  const dismiss = async (job: Tracked): Promise<void> => {
    job.dismissing = true;
    await retrying(`dismissing ${job.planned.spec.key}`, async () => {
      const response = await fetch(`${system.apiUrl}/jobs/${job.jobId}`, { method: 'DELETE' });
      if (response.status >= 500) throw new Error(`DELETE /jobs/${job.jobId}: ${response.status} ${await response.text()}`);
      if (response.status !== 200) throw new Error(`DELETE /jobs/${job.jobId}: ${response.status}`);
    })
      .then(() => {
        job.dismissed = true;
        counts.dismissed++;
        note(`dismissed ${job.planned.spec.key} (${job.jobName}) while it ran`);
      })
      .catch((error: unknown) => note(`could not dismiss ${job.planned.spec.key}: ${String(error)}`));
  };
  const deleteJob = async (job: Tracked): Promise<void> => {
    await retrying(`deleting ${job.jobName}`, () =>
      system.kube
        .request({ method: 'DELETE', path: `/apis/batch/v1/namespaces/${JOBS_NAMESPACE}/jobs/${job.jobName}`, body: { propagationPolicy: 'Background' } })
        .catch((error: unknown) => {
          if (!isApiError(error, 404)) throw error;
        }),
    )
      .then(() => {
        job.deleted = true;
        counts.deleted++;
      })
      .catch((error: unknown) => note(String(error)));
  };

  // --- API server faults, one every 1–4 s while jobs run ---
  const timelineFault = (fault: ApiFault): void => {
    const text =
      fault.kind === 'stall' ? `API server: watches stalled ${fault.ms} ms, then dropped` : fault.kind === 'errors' ? `API server: burst of ${fault.count} 503s` : fault.kind === 'gone' ? 'API server: history compacted (410 Gone) and watches dropped' : 'API server: watches dropped';
    ctx.timeline.push({ at: Date.now(), text });
  };
  let faultsOn = true;
  const faultRandom = seededRandom(options.seed).fork('api-faults');
  const faultLoop = (async () => {
    while (faultsOn) {
      const { fault, waitMs } = faults(faultRandom);
      await sleep(waitMs);
      if (!faultsOn) break;
      counts.apiFaults[fault.kind]++;
      switch (fault.kind) {
        case 'drop-watches':
          system.cluster({ op: 'drop-watches' });
          break;
        case 'gone':
          system.cluster({ op: 'expire' });
          system.cluster({ op: 'drop-watches' });
          break;
        case 'stall':
          system.cluster({ op: 'stall', stalled: true });
          await sleep(fault.ms);
          system.cluster({ op: 'stall', stalled: false });
          system.cluster({ op: 'drop-watches' });
          break;
        case 'errors':
          // POSTs are spared so that every create of the run happens exactly once (a refused POST never reached the store anyway).
          system.cluster({ op: 'errors', share: fault.share, count: fault.count, status: 503, match: '^(GET|PUT|PATCH|DELETE) ' });
          break;
      }
      timelineFault(fault);
    }
  })();

  // --- controller kills, spread over the submissions ---
  let killChain = Promise.resolve();
  const kill = async (k: PlannedKill): Promise<void> => {
    await sleep(k.delayMs);
    let replica = k.replica;
    let leader = false;
    if (k.target === 'leader') {
      const holder = await system.leader().catch(() => undefined);
      const index = Number(/^controller-(\d+)$/.exec(holder ?? '')?.[1]);
      if (Number.isInteger(index) && index < options.replicas) {
        replica = index;
        leader = true;
      }
    }
    note(`SIGKILL controller-${replica}${leader ? ' (the leader)' : ''}`);
    await system.killReplica(replica);
    counts.kills++;
    await sleep(k.restartAfterMs);
    await system.startReplica(replica).catch((error: unknown) => note(`restarting controller-${replica} failed: ${String(error)}`));
    note(`controller-${replica} restarted`);
  };

  // --- submitting the jobs (until --submit-for runs out, if given) ---
  const active = (): number => tracked.filter((j) => j.finishedAt === undefined).length;
  const submitStart = Date.now();
  const fired = new Set<PlannedKill>();
  // A kill is due after its share of the jobs, or of the submission time when that is bounded.
  const due = (k: PlannedKill, submitted: number): boolean =>
    submitted >= k.afterJobs || (options.submitForMs !== undefined && Date.now() - submitStart >= (k.afterJobs / jobs.length) * options.submitForMs);
  let submitted = 0;
  for (const job of jobs) {
    while (active() >= options.maxActive) await sleep(100);
    if (options.submitForMs !== undefined && Date.now() - submitStart > options.submitForMs) {
      note(`--submit-for ${options.submitForMs / 1000} s ran out after ${submitted} jobs`);
      break;
    }
    const entry = await submit(system, job, note, retrying);
    submitted++;
    if (entry) tracked.push({ ...entry, deleted: false, dismissing: false });
    for (const k of kills.filter((k) => !fired.has(k) && due(k, submitted))) {
      fired.add(k);
      killChain = killChain.then(() => kill(k));
    }
    await sleep(job.gapMs);
  }
  for (const k of kills.filter((k) => !fired.has(k))) killChain = killChain.then(() => kill(k));
  note(`${submitted} jobs submitted (${tracked.length} accepted); waiting for them to finish`);

  // --- settling: every job finished, every pod released, every record written ---
  const deadline = Date.now() + options.settleTimeoutMs;
  const unsettled = async (): Promise<string[]> => {
    const open: string[] = [];
    for (const job of tracked) if (job.finishedAt === undefined) open.push(`${job.planned.spec.key}: not finished`);
    for (const pod of pods) {
      if (pod.metadata?.finalizers?.includes(LOG_FINALIZER)) open.push(`pod ${pod.metadata.name}: finalizer held (phase ${pod.status?.phase}${pod.metadata.deletionTimestamp ? ', deleting' : ''})`);
    }
    if (open.length === 0) {
      for (const job of tracked) {
        const present = await s3
          .send(new HeadObjectCommand({ Bucket: BUCKET, Key: jobRecordKey(PREFIX, JOBS_NAMESPACE, job.jobName) }))
          .then(() => true)
          .catch(() => false);
        if (!present) open.push(`${job.planned.spec.key}: no job record yet`);
      }
    }
    return open;
  };
  let open = await unsettled();
  let faultsStopped = false;
  while (open.length > 0 && Date.now() < deadline) {
    if (!faultsStopped && tracked.every((j) => j.finishedAt !== undefined)) {
      // The API server recovers for good; S3 keeps failing as before.
      faultsOn = false;
      faultsStopped = true;
      note('all jobs finished; API server faults end, waiting for the archive');
    }
    await sleep(500);
    open = await unsettled();
  }
  faultsOn = false;
  await killChain;
  await faultLoop;
  system.cluster({ op: 'stall', stalled: false });
  system.cluster({ op: 'errors', share: 0, count: 0, status: 503 });
  stopTicker = true;
  await ticker;
  if (open.length > 0) note(`not settled after ${options.settleTimeoutMs / 1000} s: ${open.slice(0, 5).join('; ')}${open.length > 5 ? ` (+${open.length - 5})` : ''}`);
  else note('settled; verifying the archive');

  // --- verifying ---
  const archive: ArchiveAccess = {
    prefix: PREFIX,
    namespace: JOBS_NAMESPACE,
    get: async (key) => {
      try {
        const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        return Buffer.from(await response.Body!.transformToByteArray());
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
  };
  const findings: Finding[] = [];
  let logs = 0;
  let bytes = 0;
  for (const job of tracked) {
    const receipts = await readReceipts(ctx.truth, job.planned.spec.key);
    const result = await verifyJob(job, receipts, archive);
    findings.push(...result.findings);
    logs += result.logs;
    bytes += result.bytes;
    if (job.planned.via === 'api' && !job.dismissed && !job.planned.spec.failAlways) {
      const problem = await checkApiResults(system.apiUrl, job, receipts.filter((r) => r.role === 'main').reduce((a, r) => Math.max(a, r.attempt), 0));
      if (problem) findings.push({ kind: 'result', job: job.planned.spec.key, jobName: job.jobName, detail: problem });
    }
  }
  for (const line of open) findings.push({ kind: 'record', job: line.split(':')[0]!, jobName: '', detail: `not settled: ${line}` });

  const s3Stats = await system.s3Stats();
  const clusterStats = await system.clusterStats();
  const apiFaultTotal = Object.values(counts.apiFaults).reduce((a, b) => a + b, 0);
  const crashes = Object.values(system.crashes).reduce((a, b) => a + b, 0);
  const via = { api: tracked.filter((j) => j.planned.via === 'api').length, direct: tracked.filter((j) => j.planned.via === 'direct').length };
  const totals =
    `seed=${options.seed} jobs=${tracked.length} (api ${via.api}, direct ${via.direct}, dismissed ${counts.dismissed}, deleted ${counts.deleted}) ` +
    `logs=${logs} bytes=${bytes} kills=${counts.kills} crashes=${crashes} ` +
    `s3-faults=${s3Stats.refused + s3Stats.cut} (refused ${s3Stats.refused}, cut ${s3Stats.cut} of ${s3Stats.requests} requests) ` +
    `api-faults=${apiFaultTotal} (503 bursts ${counts.apiFaults.errors} = ${clusterStats.injectedErrors} errors, watch drops ${counts.apiFaults['drop-watches']}, 410s ${counts.apiFaults.gone}, stalls ${counts.apiFaults.stall}; ${clusterStats.droppedWatches} watches cut) ` +
    `duration=${Math.round((Date.now() - ctx.started) / 1000)}s`;
  const byKind = new Map<string, number>();
  for (const f of findings) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  for (const f of findings.slice(0, 40)) {
    const job = tracked.find((j) => j.planned.spec.key === f.job);
    const from = (job?.submittedAt ?? ctx.started) - 2_000;
    const to = (job?.finishedAt ?? Date.now()) + 5_000;
    const preceded = ctx.timeline.filter((e) => e.at >= from && e.at <= to && !e.text.startsWith('dismissed')).slice(0, 6);
    options.progress(
      `chaos: finding [${f.kind}] ${f.job}${f.jobName ? ` (${f.jobName}, ${job?.planned.via === 'direct' ? 'kubectl-style Job' : 'API job'}, submitted ${ctx.elapsed(job?.submittedAt)}, finished ${job?.finishedAt ? ctx.elapsed(job.finishedAt) : '?'})` : ''}: ${f.detail}` +
        (preceded.length ? ` — around it: ${preceded.map((e) => `${ctx.elapsed(e.at)} ${e.text}`).join('; ')}` : ''),
    );
  }
  const pass = findings.length === 0;
  const verdict = pass
    ? `chaos: PASS ${totals}`
    : `chaos: FAIL ${totals} findings=${findings.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}) first: ${findings
        .slice(0, 3)
        .map((f) => `${f.job}: ${f.detail}`)
        .join(' | ')}`;
  if (pass && !options.keep) await rm(ctx.dir, { recursive: true, force: true });
  else options.progress(`chaos: run folder kept: ${ctx.dir} (logs/ has every process's output, truth/ the receipts, s3/ the archive)`);
  return { pass, verdict, findings, dir: ctx.dir };
}

/** How often a submission the API answers 503 is tried in all (a client's retries, with back-off). */
const SUBMIT_ATTEMPTS_ON_503 = 5;

async function submit(
  system: System,
  job: PlannedJob,
  note: (text: string) => void,
  retrying: <T>(what: string, call: () => Promise<T>, attempts?: number) => Promise<T>,
): Promise<SubmittedJob | undefined> {
  const submittedAt = Date.now();
  const inputs = { spec: job.spec };
  try {
    if (job.via === 'api') {
      // Retried while the API cannot be reached (a refused connection created nothing), and as a client should when it
      // answers 503 (the Kubernetes API refused the Job during a burst of its faults: nothing was created either).
      let response: Response;
      let body: string;
      for (let attempt = 1; ; attempt++) {
        response = await retrying(`submitting ${job.spec.key}`, () =>
          fetch(`${system.apiUrl}/processes/chaos/execution`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', prefer: 'respond-async' },
            body: JSON.stringify({ inputs }),
          }),
        );
        body = await response.text();
        if (response.status !== 503 || attempt >= SUBMIT_ATTEMPTS_ON_503) break;
        const retryAfterSeconds = Number(response.headers.get('retry-after'));
        await sleep(Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0 ? Math.min(retryAfterSeconds, 5) * 1000 : 500 * attempt);
      }
      if (response.status !== 201) throw new Error(`POST /processes/chaos/execution answered ${response.status}: ${body.slice(0, 300)}`);
      const jobId = /\/jobs\/([^/?#]+)$/.exec(response.headers.get('location') ?? '')?.[1];
      if (!jobId) throw new Error(`no job location in the answer to POST /processes/chaos/execution`);
      return { planned: job, jobName: jobNameFor(jobId), jobId, dismissed: false, submittedAt };
    }
    const jobName = `chaos-${job.spec.key}`;
    const container = (role: 'init' | 'main'): Record<string, unknown> => ({
      name: CONTAINER_NAMES.direct[role],
      image: 'node:20-alpine',
      // The spec also as an argument: the program still runs should the webhook (failing open) not inject the inputs.
      command: [process.execPath, JOB_PROGRAM, role, JSON.stringify(job.spec)],
    });
    const manifest = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: jobName,
        labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE },
        annotations: { 'pygeoapi.io/process_id': 'chaos-direct', 'pygeoapi.io/inputs': JSON.stringify(inputs) },
      },
      spec: {
        backoffLimit: 3,
        template: {
          metadata: { labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE } },
          spec: { restartPolicy: 'OnFailure', initContainers: [container('init')], containers: [container('main')] },
        },
      },
    };
    await retrying(`creating Job ${jobName}`, () =>
      system.kube.request({ method: 'POST', path: `/apis/batch/v1/namespaces/${JOBS_NAMESPACE}/jobs`, body: manifest }).catch((error: unknown) => {
        if (isApiError(error, 409)) return undefined; // created by an attempt whose answer was lost
        throw error;
      }),
    );
    return { planned: job, jobName, dismissed: false, submittedAt };
  } catch (error) {
    note(`could not submit ${job.spec.key}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** The API's results document of a successful job must carry the printed result. */
async function checkApiResults(apiUrl: string, job: SubmittedJob, attempt: number): Promise<string | undefined> {
  const expected = JSON.parse(resultValue(job.planned.spec, attempt)) as Record<string, string>;
  let last = '';
  for (let i = 0; i < 5; i++) {
    const response = await fetch(`${apiUrl}/jobs/${job.jobId}/results`).catch((error: unknown) => error as Error);
    if (response instanceof Error) last = response.message;
    else {
      const text = await response.text();
      if (response.status === 200) {
        const body = JSON.parse(text) as Record<string, unknown>;
        const same = Object.keys(expected).every((k) => body[k] === expected[k]);
        return same ? undefined : `GET /jobs/${job.jobId}/results gave ${text.slice(0, 200)}, expected ${JSON.stringify(expected)}`;
      }
      last = `${response.status} ${text.slice(0, 200)}`;
      if (response.status < 500) break;
    }
    await sleep(500);
  }
  return `GET /jobs/${job.jobId}/results failed: ${last}`;
}

function parseSize(text: string): number {
  const match = /^(\d+)\s*([kKmMgG]i?[bB]?)?$/.exec(text.trim());
  if (!match) throw new Error(`not a size: "${text}" (e.g. 262144, 256KiB, 32MiB)`);
  const unit = (match[2] ?? '').toLowerCase()[0];
  return Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}

const USAGE = `usage: npm run chaos -- --jobs N --kills K [--seed S] [--replicas R] [--max-bytes SIZE] [--max-active N] [--settle-timeout SECONDS] [--submit-for SECONDS] [--keep]`;

export function parseChaosArgs(argv: string[]): Omit<RunOptions, 'progress'> {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: 'string' },
      kills: { type: 'string' },
      seed: { type: 'string' },
      replicas: { type: 'string' },
      'max-bytes': { type: 'string' },
      'max-active': { type: 'string' },
      'settle-timeout': { type: 'string' },
      'submit-for': { type: 'string' },
      keep: { type: 'boolean' },
    },
    strict: true,
  });
  const int = (name: string, fallback: number, min: number): number => {
    const raw = values[name as keyof typeof values];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${String(raw)}"`);
    return n;
  };
  return {
    jobs: int('jobs', 30, 1),
    kills: int('kills', 2, 0),
    seed: values.seed ?? String(Math.floor(Math.random() * 1e9)),
    replicas: int('replicas', 2, 2),
    maxBytes: values['max-bytes'] ? parseSize(values['max-bytes']) : 32 * 1024 * 1024,
    maxActive: int('max-active', 12, 1),
    settleTimeoutMs: int('settle-timeout', 300, 1) * 1000,
    ...(values['submit-for'] !== undefined ? { submitForMs: int('submit-for', 0, 1) * 1000 } : {}),
    keep: values.keep ?? false,
  };
}

async function main(): Promise<number> {
  let options: Omit<RunOptions, 'progress'>;
  try {
    options = parseChaosArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`chaos: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  const result = await runChaos({ ...options, progress: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${result.verdict}\n`);
  return result.pass ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`chaos: ${signal}: stopping every process of the run\n`);
      void (running?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`chaos: the run itself failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.stdout.write(`chaos: FAIL seed=? the run could not complete: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
