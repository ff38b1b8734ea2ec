/**
 * Archiving one pod whose logs were captured: upload the logs, extract the
 * result (if the pod succeeded), merge the pod into the job record, write
 * the result to the Job, mark the pod archived and release its finalizer,
 * in that order, so that each step only happens once everything it relies
 * on is verified in S3. Every step overwrites deterministic keys, so a
 * retry after any failure (or a crash) repeats it without duplicates.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  containerLogKey,
  jobArchivePrefix,
  jobRecordKey,
  pythonLogKey,
  resultValueKey,
  type ArchiveLayout,
  type JobRecord,
} from '../lib/archive/layout.js';
import { ANNOTATION_PREFIX, ANNOTATIONS } from '../lib/contract.js';
import type { KubeHttp } from '../lib/kube/http.js';
import { isApiError } from '../lib/kube/http.js';
import { ResultMarkerScanner } from '../lib/result-markers.js';
import { mergeJobRecord, parseParameters } from '../lib/archive/job-record.js';
import { statusInfo } from '../lib/job-status.js';
import { partsStream, pythonLogParts, totalBytes, type CapturedLog, type LogPart } from './log-parts.js';
import type { PodFinalizers, ReleaseResult } from './pod-finalizer.js';
import { jobRefOf } from './pod-view.js';
import type { S3Archive } from '../lib/archive/writer.js';
import { recordInHistory } from '../lib/archive/history-writer.js';

const TEXT = 'text/plain; charset=utf-8';

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
}

export interface ArchiveOutcome {
  location: string;
  bytes: number;
  release: ReleaseResult | 'not-attempted';
  result?: JobRecord['result'];
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
    status: { ...(pod.status?.phase === 'Succeeded' ? { succeeded: 1 } : {}), startTime: pod.status?.startTime },
  };
}

export async function archivePod(ctx: ArchiveContext, input: ArchiveInput, signal: AbortSignal): Promise<ArchiveOutcome> {
  const { pod } = input;
  const namespace = pod.metadata?.namespace ?? '';
  const podName = pod.metadata?.name ?? '';
  const jobName = jobRefOf(pod)?.name ?? podName;
  const logger = ctx.logger.child({ namespace, pod: podName, job: jobName });

  const { location, entries } = await uploadLogs(ctx, input, namespace, jobName, signal);
  const bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
  const result = pod.status?.phase === 'Succeeded' ? await extractResult(ctx, input.logs, namespace, jobName, signal) : undefined;

  const job = input.job ?? jobStandIn(pod, jobName);
  await ctx.jobLock.run(`${namespace}/${jobName}`, async () => {
    const key = jobRecordKey(ctx.prefix, namespace, jobName);
    const existing = await ctx.s3.getJson<JobRecord>(key, signal);
    const annotations = job.metadata?.annotations ?? {};
    const record = mergeJobRecord(existing, {
      pod: podName,
      status: { ...statusInfo({ job, pods: [pod], events: [], deleted: input.jobDeleted || !input.job }, ctx.jobNamePrefix) },
      ...(annotations[ANNOTATIONS.processId] ? { processId: annotations[ANNOTATIONS.processId] } : {}),
      ...(annotations[ANNOTATIONS.parameters] !== undefined ? { parameters: parseParameters(annotations[ANNOTATIONS.parameters]) } : {}),
      ...(result ? { result } : {}),
      logs: entries,
      archivedAt: new Date().toISOString(),
    });
    await ctx.s3.putJson(key, record, signal);
    // After the record, so the history never lists a job whose record is missing.
    await recordInHistory(ctx.s3, ctx.prefix, namespace, record, signal);
  });

  if (result && input.job && !input.jobDeleted) await writeResultAnnotations(ctx, namespace, jobName, result, signal);

  let release: ArchiveOutcome['release'] = 'not-attempted';
  if (!input.podGone && (await ctx.finalizers.markArchived(namespace, podName, location, signal))) {
    release = await ctx.finalizers.release(namespace, podName, signal);
  }
  logger.info({ location, bytes, release, result: result ? { mimetype: result.mimetype, valueKey: result.valueKey } : undefined }, 'pod logs archived');
  return { location, bytes, release, ...(result ? { result } : {}) };
}

async function uploadLogs(
  ctx: ArchiveContext,
  input: ArchiveInput,
  namespace: string,
  jobName: string,
  signal: AbortSignal,
): Promise<{ location: string; entries: JobRecord['logs'] }> {
  const podName = input.pod.metadata?.name ?? '';
  if (ctx.layout === 'python') {
    const created = input.pod.metadata?.creationTimestamp;
    // The pod's creation date, not today's: a retry tomorrow must overwrite, not duplicate.
    const date = created ? new Date(created) : new Date();
    const key = pythonLogKey(ctx.prefix, input.jobHasOtherPods ? podName : jobName, date);
    const parts = pythonLogParts(podName, input.logs);
    const bytes = totalBytes(parts);
    ctx.logger.debug({ key, bytes }, 'uploading');
    await ctx.s3.upload(key, partsStream(parts), bytes, TEXT, signal);
    return { location: key, entries: [{ pod: podName, container: '*', key, bytes }] };
  }
  const entries: JobRecord['logs'] = [];
  for (const log of input.logs) {
    const key = containerLogKey(ctx.prefix, namespace, jobName, podName, log.container, log.previous);
    ctx.logger.debug({ key, bytes: log.bytes }, 'uploading');
    await ctx.s3.upload(key, partsStream([{ file: log.file, bytes: log.bytes }]), log.bytes, TEXT, signal);
    entries.push({ pod: podName, container: log.container, key, bytes: log.bytes, ...(log.previous ? { previous: true } : {}) });
  }
  return { location: `${jobArchivePrefix(ctx.prefix, namespace, jobName)}${podName}/`, entries };
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
  for await (const chunk of partsStream(parts)) scanner.feed(chunk as Buffer);
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
  await ctx.s3.upload(valueKey, partsStream(parts, start, end), end - start, markers.mimetype ?? 'application/octet-stream', signal);
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
