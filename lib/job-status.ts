/**
 * The OGC status of a job, decided from its Kubernetes objects: the Job's
 * conditions and counts, its pods' container states, the latest Event, and
 * our dismissed annotation. Pure, so the table of cases is tested directly.
 * The one mapping of the project: the API serves it, the controller stores
 * it in the job record that outlives the Job.
 */
import type { CoreV1Event, V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, parseAnnotationTime, jobIdFromName, DEFAULT_JOB_NAME_PREFIX } from './contract.js';

export type OgcStatus = 'accepted' | 'running' | 'successful' | 'failed' | 'dismissed';

export interface StatusInfo {
  jobID: string;
  processID?: string;
  type: 'process';
  status: OgcStatus;
  message?: string;
  created?: string;
  started?: string;
  finished?: string;
  updated?: string;
  progress?: number;
  links?: Array<{ href: string; rel: string; type?: string; title?: string }>;
}

export interface JobObjects {
  job: V1Job;
  pods: V1Pod[];
  /** Events about the Job and its pods, any order. */
  events: CoreV1Event[];
  /** The Job was deleted: these are its last known objects. */
  deleted?: boolean;
}

function iso(value: Date | string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function latest(values: Array<string | undefined>): string | undefined {
  return values.filter((v): v is string => v !== undefined).sort().pop();
}

function earliest(values: Array<string | undefined>): string | undefined {
  return values.filter((v): v is string => v !== undefined).sort()[0];
}

/** The OGC job id: our identifier annotation, else the id in the Job's name, else the name. */
export function jobIdOf(job: V1Job, prefix = DEFAULT_JOB_NAME_PREFIX): string {
  const name = job.metadata?.name ?? '';
  return job.metadata?.annotations?.[ANNOTATIONS.identifier] ?? jobIdFromName(name, prefix) ?? name;
}

function containerStatuses(pods: V1Pod[]): V1ContainerStatus[] {
  return pods.flatMap((p) => [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]);
}

function condition(job: V1Job, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Why the job failed, from the Job's condition and the failing container's state. */
function failureMessage(job: V1Job, pods: V1Pod[]): string {
  const failed = condition(job, 'Failed') ?? condition(job, 'FailureTarget');
  const parts: string[] = [];
  if (failed) parts.push(`${failed.reason ?? 'Failed'}: ${failed.message ?? 'the job failed'}`);
  const terminated = containerStatuses(pods)
    .map((c) => ({ name: c.name, t: c.state?.terminated ?? c.lastState?.terminated }))
    .filter((c) => c.t && c.t.exitCode !== 0);
  const last = terminated[terminated.length - 1];
  if (last?.t) {
    const detail = last.t.message ? `: ${last.t.message.trim()}` : '';
    parts.push(`container "${last.name}" terminated with exit code ${last.t.exitCode} (${last.t.reason ?? 'Error'})${detail}`);
  }
  return parts.join('; ') || 'the job failed';
}

/**
 * The message of a successful job, worded as the Python manager words it:
 * the terminated state of the job container (the pod's first container) as
 * `reason[: message]` — Kubernetes says `Completed`, and a termination
 * message the program wrote follows it. `Completed` when the pods are gone.
 */
function completedMessage(pods: V1Pod[]): string {
  const pod = pods.find((p) => p.status?.phase === 'Succeeded') ?? pods[0];
  const first = pod?.spec?.containers?.[0]?.name;
  const statuses = pod?.status?.containerStatuses ?? [];
  const terminated = (statuses.find((c) => c.name === first) ?? statuses[0])?.state?.terminated;
  return [terminated?.reason ?? 'Completed', terminated?.message?.trim()].filter(Boolean).join(': ');
}

/** Why the job has not started: a waiting container's reason, else the latest Event. */
function pendingMessage(pods: V1Pod[], events: CoreV1Event[]): string | undefined {
  const waiting = containerStatuses(pods).find((c) => c.state?.waiting?.reason && !['ContainerCreating', 'PodInitializing'].includes(c.state.waiting.reason));
  if (waiting?.state?.waiting) {
    const w = waiting.state.waiting;
    return `container "${waiting.name}" is waiting: ${w.reason ?? ''}${w.message ? `: ${w.message}` : ''}`;
  }
  const newest = [...events].sort((a, b) => eventTime(a).localeCompare(eventTime(b))).pop();
  return newest ? `${newest.reason ?? ''}: ${newest.message ?? ''}` : undefined;
}

function eventTime(e: CoreV1Event): string {
  return iso(e.lastTimestamp) ?? iso(e.eventTime as unknown as string) ?? iso(e.metadata?.creationTimestamp) ?? '';
}

/**
 * Waiting reasons a pod never recovers from (its spec is immutable): the
 * job has failed even though Kubernetes keeps it active. Pull errors
 * (ErrImagePull, ImagePullBackOff) and missing Secrets may heal, so they stay
 * `accepted` with the reason as message, until the job's deadline ends them.
 */
const CANNOT_START: ReadonlySet<string> = new Set(['InvalidImageName', 'ErrImageNeverPull']);

function cannotStartMessage(pods: V1Pod[]): string | undefined {
  const stuck = containerStatuses(pods).find((c) => CANNOT_START.has(c.state?.waiting?.reason ?? ''));
  const w = stuck?.state?.waiting;
  return w ? `the pod cannot start: container "${stuck.name}": ${w.reason ?? ''}${w.message ? `: ${w.message}` : ''}` : undefined;
}

export function decideStatus(objects: JobObjects): { status: OgcStatus; message?: string } {
  const { job, pods, events } = objects;
  const annotations = job.metadata?.annotations ?? {};
  if (annotations[ANNOTATIONS.dismissed] !== undefined) return { status: 'dismissed', message: 'dismissed by request' };
  if (condition(job, 'Complete') || condition(job, 'SuccessCriteriaMet')) return { status: 'successful', message: completedMessage(pods) };
  if (condition(job, 'Failed') || condition(job, 'FailureTarget')) return { status: 'failed', message: failureMessage(job, pods) };
  // Deleted before it finished (kubectl delete, a namespace going): it will not finish any more.
  if (objects.deleted) return { status: 'dismissed', message: 'the Job was deleted before it finished' };
  // Jobs without conditions (e.g. the Python manager's, read from an old API server): counts, as it decided.
  if (!job.status?.conditions?.length) {
    if ((job.status?.succeeded ?? 0) > 0) return { status: 'successful', message: completedMessage(pods) };
    if ((job.status?.failed ?? 0) > 0 && (job.status?.active ?? 0) === 0 && (job.spec?.backoffLimit ?? 6) < (job.status?.failed ?? 0)) {
      return { status: 'failed', message: failureMessage(job, pods) };
    }
  }
  const cannotStart = cannotStartMessage(pods);
  if (cannotStart) return { status: 'failed', message: cannotStart };
  const running = containerStatuses(pods).some((c) => c.state?.running);
  if (running) return { status: 'running', message: 'job is running' };
  const pending = pendingMessage(pods, events);
  return { status: 'accepted', message: pending ?? 'job accepted, waiting for a pod to start' };
}

const FINAL: ReadonlySet<OgcStatus> = new Set(['successful', 'failed', 'dismissed']);

/** The Job will not change its outcome any more (judged from the Job alone). */
export function jobFinished(job: V1Job): boolean {
  return FINAL.has(decideStatus({ job, pods: [], events: [] }).status);
}

/**
 * Progress known from the state alone. A running job's progress is known only
 * from its progress markers (the API adds them), so it has none here: no
 * made-up numbers.
 */
const PROGRESS: Record<OgcStatus, number | undefined> = { accepted: 0, running: undefined, successful: 100, failed: 100, dismissed: 100 };

/** When the job was created (the `created` of its status, the key job lists are ordered by): the Job's creation, else our started annotation. */
export function createdOf(job: V1Job): string | undefined {
  return iso(job.metadata?.creationTimestamp) ?? parseAnnotationTime(job.metadata?.annotations?.[ANNOTATIONS.started])?.toISOString();
}

export function statusInfo(objects: JobObjects, prefix = DEFAULT_JOB_NAME_PREFIX): StatusInfo {
  const { job, pods, events } = objects;
  const annotations = job.metadata?.annotations ?? {};
  const { status, message } = decideStatus(objects);
  const statuses = containerStatuses(pods);
  const created = createdOf(job);
  const started =
    earliest(statuses.map((c) => iso(c.state?.running?.startedAt) ?? iso(c.state?.terminated?.startedAt) ?? iso(c.lastState?.terminated?.startedAt))) ??
    iso(job.status?.startTime);
  const finishedCondition = condition(job, 'Complete') ?? condition(job, 'SuccessCriteriaMet') ?? condition(job, 'Failed') ?? condition(job, 'FailureTarget');
  const finished =
    status === 'dismissed'
      ? annotations[ANNOTATIONS.dismissed] ?? iso(job.metadata?.deletionTimestamp)
      : status === 'successful' || status === 'failed'
        ? iso(job.status?.completionTime) ?? iso(finishedCondition?.lastTransitionTime) ?? latest(statuses.map((c) => iso(c.state?.terminated?.finishedAt)))
        : undefined;
  const updated = latest([
    created,
    started,
    finished,
    ...(job.status?.conditions ?? []).map((c) => iso(c.lastTransitionTime)),
    ...statuses.map((c) => iso(c.state?.terminated?.finishedAt)),
    ...events.map((e) => iso(e.lastTimestamp)),
  ]);
  return {
    jobID: jobIdOf(job, prefix),
    ...(annotations[ANNOTATIONS.processId] ? { processID: annotations[ANNOTATIONS.processId] } : {}),
    type: 'process',
    status,
    ...(message ? { message } : {}),
    ...(created ? { created } : {}),
    ...(started ? { started } : {}),
    ...(finished ? { finished } : {}),
    ...(updated ? { updated } : {}),
    ...(PROGRESS[status] !== undefined ? { progress: PROGRESS[status] } : {}),
  };
}
