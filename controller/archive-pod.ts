/**
 * Archiving one pod whose logs were captured: upload the logs, extract the
 * result (if the pod succeeded), merge the pod into the job record, write
 * the result to the Job and mark the pod archived, in that order (the
 * reconciler then releases the finalizer), so that each step only happens once everything it relies
 * on is verified in S3. Every step overwrites deterministic keys, so a
 * retry after any failure (or a crash) repeats it without duplicates.
 */
import { resultsRequestOf } from '../lib/results-request.js';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  containerLogKey,
  jobArchivePrefix,
  jobRecordKey,
  pythonLogKey,
  resultValueKey,
  type ArchivedLog,
  type ArchiveLayout,
  type JobRecord,
} from '../lib/archive/layout.js';
import { ANNOTATION_PREFIX, ANNOTATIONS } from '../lib/contract.js';
import type { KubeHttp } from '../lib/kube/http.js';
import { isApiError } from '../lib/kube/http.js';
import { ResultMarkerScanner } from '../lib/result-markers.js';
import { mergeJobRecord, parseParameters } from '../lib/archive/job-record.js';
import { mergeInferred, recordedStatus } from './job-outcome.js';
import { resultLostReason, resultOutcome, statusWithResult } from './result-outcome.js';
import { partsBody, partsChunks, partsStream, pythonLogParts, totalBytes, type CapturedLog, type LogPart } from './log-parts.js';
import type { PodFinalizers } from './pod-finalizer.js';
import { jobRefOf } from './pod-view.js';
import type { S3Archive } from '../lib/archive/writer.js';
import { recordInHistory } from '../lib/archive/history-writer.js';

export const LOG_CONTENT_TYPE = 'text/plain; charset=utf-8';
const TEXT = LOG_CONTENT_TYPE;

export interface ArchiveContext {
  s3: S3Archive;
  prefix: string;
  layout: ArchiveLayout;
  jobNamePrefix: string;
  resultAnnotationLimitBytes: number;
  http: KubeHttp;
  finalizers: PodFinalizers;
  logger: Logger;
  /** Serialises the job record's read-merge-write per job. */
  jobLock: KeyedLock;
}

export interface ArchiveInput {
  /** The pod as last seen. */
  pod: V1Pod;
  /** The pod is gone from the API (nothing to mark or release). */
  podGone: boolean;
  logs: CapturedLog[];
  /** The pod's Job, live or as last seen before it was deleted; undefined if never seen. */
  job: V1Job | undefined;
  jobDeleted: boolean;
  /** Other pods of the same Job exist (the Python layout then names the file after the pod). */
  jobHasOtherPods: boolean;
  /** The pod ran to its end before it was deleted (job-outcome.ts); decides how a deleted Job ended when the Job does not say. */
  endedBeforeDeletion: boolean;
}

export interface ArchiveOutcome {
  location: string;
  bytes: number;
  /** The pod was marked archived (false: it is gone). */
  marked: boolean;
  result?: JobRecord['result'];
  /** Logs archived incomplete (what could be read, and why the rest is missing). */
  incomplete: ArchivedLog[];
  /** Why the pod's result is unknown, when it succeeded but a current log of it is incomplete (result-outcome.ts). */
  resultLost?: string;
}

/** Runs tasks of the same key one after another. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** A stand-in Job for a pod whose Job was never seen (deleted while the controller was away). */
function jobStandIn(pod: V1Pod, jobName: string): V1Job {
  const annotations = Object.fromEntries(
    Object.entries(pod.metadata?.annotations ?? {}).filter(([k]) => k.startsWith(ANNOTATION_PREFIX) && k !== ANNOTATIONS.logArchive),
  );
  return {
    metadata: { name: jobName, namespace: pod.metadata?.namespace, annotations, creationTimestamp: pod.metadata?.creationTimestamp },
    // No counts: how the job ended is judged from the pod (job-outcome.ts), which knows whether it ran to its end.
    status: { startTime: pod.status?.startTime },
  };
}

export async function archivePod(ctx: ArchiveContext, input: ArchiveInput, signal: AbortSignal): Promise<ArchiveOutcome> {
  const { pod } = input;
  const namespace = pod.metadata?.namespace ?? '';
  const podName = pod.metadata?.name ?? '';
  const jobName = jobRefOf(pod)?.name ?? podName;
  const logger = ctx.logger.child({ namespace, pod: podName, job: jobName });

  const recordKey = jobRecordKey(ctx.prefix, namespace, jobName);
  const prior = await ctx.s3.getJson<JobRecord>(recordKey, signal);
  const { location, entries, kept } = await uploadLogs(ctx, input, namespace, jobName, prior, signal);
  const bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
  const incomplete = entries.filter((e) => e.complete === false);
  const succeeded = pod.status?.phase === 'Succeeded';
  // The logs as archived: where the complete log of an earlier attempt was kept, the result read from it stands.
  const reused = kept.size > 0;
  const archived = input.logs.map((log) => (kept.has(log) ? { ...log, complete: true } : log));
  const readable = succeeded && !reused && resultLostReason(archived) === undefined;
  const found = readable ? await extractResult(ctx, input.logs, namespace, jobName, signal) : undefined;
  const { result, resultLost } = resultOutcome({ succeeded, logs: archived, found, ...(reused ? { prior: prior ?? {} } : {}) });

  const job = input.job ?? jobStandIn(pod, jobName);
  await ctx.jobLock.run(`${namespace}/${jobName}`, async () => {
    const existing = await ctx.s3.getJson<JobRecord>(recordKey, signal);
    const annotations = job.metadata?.annotations ?? {};
    const decided = recordedStatus(job, input.jobDeleted || !input.job, pod, input.endedBeforeDeletion, ctx.jobNamePrefix);
    const status = decided.inferred ? mergeInferred(existing?.status, decided.status) : decided.status;
    const record = mergeJobRecord(existing, {
      pod: podName,
      // A job whose result was lost is never reported as a success with an empty result.
      status: statusWithResult(status, resultLost),
      ...(annotations[ANNOTATIONS.processId] ? { processId: annotations[ANNOTATIONS.processId] } : {}),
      ...(annotations[ANNOTATIONS.owner] ? { owner: annotations[ANNOTATIONS.owner] } : {}),
      ...(annotations[ANNOTATIONS.parameters] !== undefined ? { parameters: parseParameters(annotations[ANNOTATIONS.parameters]) } : {}),
      // Only from the Job itself: a stand-in for a Job already gone knows nothing of how results were asked for.
      ...(input.job ? { resultsRequest: resultsRequestOf(annotations) } : {}),
      ...(result ? { result } : {}),
      ...(resultLost !== undefined ? { resultLost } : {}),
      logs: entries,
      archivedAt: new Date().toISOString(),
    });
    await ctx.s3.putJson(recordKey, record, signal);
    // After the record, so the history never lists a job whose record is missing.
    await recordInHistory(ctx.s3, ctx.prefix, namespace, record, signal);
  });

  if (result && input.job && !input.jobDeleted) await writeResultAnnotations(ctx, namespace, jobName, result, signal);

  // The mark says the archive is verified; the reconciler alone removes the finalizer, after it.
  const marked = !input.podGone && (await ctx.finalizers.markArchived(namespace, podName, location, signal));
  logger.info(
    { location, bytes, marked, incomplete: incomplete.length, resultLost, result: result ? { mimetype: result.mimetype, valueKey: result.valueKey } : undefined },
    'pod logs archived',
  );
  return { location, bytes, marked, incomplete, ...(result ? { result } : {}), ...(resultLost !== undefined ? { resultLost } : {}) };
}

/**
 * An earlier verified upload of the same log to keep instead of this capture:
 * when this capture is incomplete (a controller that came after the kubelet
 * removed the logs, say) and the earlier one was complete and is still what
 * the key holds. A complete log is never replaced by a shorter story.
 */
async function keepPrior(ctx: ArchiveContext, prior: JobRecord | undefined, key: string, complete: boolean, signal: AbortSignal): Promise<ArchivedLog | undefined> {
  if (complete) return undefined;
  const earlier = prior?.logs.find((l) => l.key === key);
  if (earlier?.complete !== true || earlier.etag === undefined) return undefined;
  return (await ctx.s3.holds(key, earlier.bytes, earlier.etag, signal)) ? earlier : undefined;
}

function completeness(logs: CapturedLog[]): Pick<ArchivedLog, 'complete' | 'incompleteReason'> {
  const reasons = logs.filter((l) => !l.complete).map((l) => `${l.container}: ${l.incompleteReason ?? 'incomplete'}`);
  return reasons.length === 0 ? { complete: true } : { complete: false, incompleteReason: reasons.join('; ') };
}

async function uploadLogs(
  ctx: ArchiveContext,
  input: ArchiveInput,
  namespace: string,
  jobName: string,
  prior: JobRecord | undefined,
  signal: AbortSignal,
): Promise<{ location: string; entries: ArchivedLog[]; kept: ReadonlySet<CapturedLog> }> {
  const podName = input.pod.metadata?.name ?? '';
  if (ctx.layout === 'python') {
    const created = input.pod.metadata?.creationTimestamp;
    // The pod's creation date, not today's: a retry tomorrow must overwrite, not duplicate.
    const date = created ? new Date(created) : new Date();
    const key = pythonLogKey(ctx.prefix, input.jobHasOtherPods ? podName : jobName, date);
    const state = completeness(input.logs);
    const kept = await keepPrior(ctx, prior, key, state.complete === true, signal);
    if (kept) return { location: key, entries: [kept], kept: new Set(input.logs) };
    const parts = pythonLogParts(podName, input.logs);
    const bytes = totalBytes(parts);
    ctx.logger.debug({ key, bytes }, 'uploading');
    const stored = await ctx.s3.upload(key, (start, length) => partsBody(parts, start, length), bytes, TEXT, signal);
    return { location: key, entries: [{ pod: podName, container: '*', key, bytes, ...state, sha256: stored.sha256, etag: stored.etag }], kept: new Set() };
  }
  const entries: ArchivedLog[] = [];
  const keptLogs = new Set<CapturedLog>();
  for (const log of input.logs) {
    const key = containerLogKey(ctx.prefix, namespace, jobName, podName, log.container, log.previous);
    const kept = await keepPrior(ctx, prior, key, log.complete, signal);
    if (kept) {
      await log.streamed?.abandon();
      ctx.logger.warn({ key, reason: log.incompleteReason }, 'this capture is incomplete; keeping the complete log an earlier attempt archived');
      entries.push(kept);
      keptLogs.add(log);
      continue;
    }
    // Streamed while it ran: only the last piece and the completion remain. Else (or if the stream broke) the spool goes up whole.
    const streamed = log.streamed?.key === key ? await log.streamed.finish(log.bytes, signal) : undefined;
    ctx.logger.debug({ key, bytes: log.bytes, streamed: streamed !== undefined }, 'uploading');
    const stored = streamed ?? (await ctx.s3.upload(key, (start, length) => partsBody([{ file: log.file, bytes: log.bytes }], start, length), log.bytes, TEXT, signal));
    entries.push({
      pod: podName,
      container: log.container,
      key,
      bytes: log.bytes,
      ...(log.previous ? { previous: true } : {}),
      ...completeness([log]),
      sha256: stored.sha256,
      etag: stored.etag,
    });
  }
  return { location: `${jobArchivePrefix(ctx.prefix, namespace, jobName)}${podName}/`, entries, kept: keptLogs };
}

/**
 * The result markers of the pod's logs (last instances, init containers
 * first, as the Python manager read them). A value too big for an
 * annotation is cut out of the spool files and uploaded on its own.
 */
async function extractResult(
  ctx: ArchiveContext,
  logs: CapturedLog[],
  namespace: string,
  jobName: string,
  signal: AbortSignal,
): Promise<JobRecord['result'] | undefined> {
  const parts: LogPart[] = logs.filter((l) => !l.previous).map((l) => ({ file: l.file, bytes: l.bytes }));
  const scanner = new ResultMarkerScanner(ctx.resultAnnotationLimitBytes);
  // The scanner copies what it keeps: the chunks can share one buffer.
  for await (const chunk of partsChunks(parts)) scanner.feed(chunk);
  const markers = scanner.result();
  if (markers.mimetype === undefined && markers.valueBytes === 0 && markers.value === undefined) return undefined;
  const mimetype = markers.mimetype !== undefined ? { mimetype: markers.mimetype } : {};
  if (!markers.tooLarge) return { ...mimetype, ...(markers.value !== undefined ? { value: markers.value } : {}) };

  const total = totalBytes(parts);
  let end = total;
  const tail: Buffer[] = [];
  for await (const chunk of partsStream(parts, Math.max(0, total - 2), total)) tail.push(chunk as Buffer);
  const last = Buffer.concat(tail).toString('latin1');
  if (last.endsWith('\r\n')) end -= 2;
  else if (last.endsWith('\n')) end -= 1;
  const start = total - markers.valueBytes;
  const valueKey = resultValueKey(ctx.prefix, namespace, jobName);
  await ctx.s3.upload(valueKey, (from, length) => partsBody(parts, start + from, length), end - start, markers.mimetype ?? 'application/octet-stream', signal);
  return { ...mimetype, valueKey };
}

async function writeResultAnnotations(
  ctx: ArchiveContext,
  namespace: string,
  jobName: string,
  result: NonNullable<JobRecord['result']>,
  signal: AbortSignal,
): Promise<void> {
  const annotations: Record<string, string | null> = {
    [ANNOTATIONS.resultMimetype]: result.mimetype ?? null,
    [ANNOTATIONS.resultValue]: result.value ?? null,
    [ANNOTATIONS.resultLocation]: result.valueKey ?? null,
  };
  try {
    await ctx.http.request({
      method: 'PATCH',
      path: `/apis/batch/v1/namespaces/${namespace}/jobs/${jobName}`,
      body: { metadata: { annotations } },
      contentType: 'application/merge-patch+json',
      signal,
    });
  } catch (error) {
    // The Job went meanwhile: the job record holds the result.
    if (!isApiError(error, 404)) throw error;
  }
}
