/**
 * The OGC statusInfo document the controller stores in a job record, so the
 * job's status outlives its Kubernetes objects. Decided from the Job alone
 * (its pods may already be gone when the record is written). Pure and
 * self-contained, so the API and the controller can later share one mapping.
 */
import type { V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS, DEFAULT_JOB_NAME_PREFIX, jobIdFromName } from '../lib/contract.js';

export type JobStatusCode = 'accepted' | 'running' | 'successful' | 'failed' | 'dismissed';

export interface JobStatusDocument {
  jobID: string;
  processID?: string;
  type: 'process';
  status: JobStatusCode;
  message: string;
  created?: string;
  started?: string;
  finished?: string;
  updated: string;
  progress?: number;
}

export interface JobStatusContext {
  /** The Job was deleted (its last known state is given). */
  deleted: boolean;
  /** When the document is written; used for times the Job cannot tell. */
  now: Date;
  jobNamePrefix?: string;
}

/** ISO 8601 of a Kubernetes time (a Date from client-node's deserializer, or the wire string). */
function iso(value: unknown): string | undefined {
  if (!(value instanceof Date) && typeof value !== 'string') return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function trueCondition(job: V1Job, type: string): { reason?: string; message?: string; lastTransitionTime?: unknown } | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** The status and its message, in order of precedence. */
function decide(job: V1Job, deleted: boolean): { status: JobStatusCode; message: string } {
  const annotations = job.metadata?.annotations ?? {};
  const complete = trueCondition(job, 'Complete') ?? trueCondition(job, 'SuccessCriteriaMet');
  const failed = trueCondition(job, 'Failed') ?? trueCondition(job, 'FailureTarget');
  // Jobs without conditions (the Python manager decided by counts): succeeded > 0 is success.
  const succeededByCount = !job.status?.conditions?.length && (job.status?.succeeded ?? 0) > 0;
  if (complete || succeededByCount) return { status: 'successful', message: 'job completed' };
  if (annotations[ANNOTATIONS.dismissed] !== undefined) return { status: 'dismissed', message: 'dismissed by request' };
  if (failed) return { status: 'failed', message: `${failed.reason ?? 'Failed'}: ${failed.message ?? 'the job failed'}` };
  if (deleted) return { status: 'dismissed', message: 'the Job was deleted before it finished' };
  if ((job.status?.active ?? 0) > 0) return { status: 'running', message: 'job is running' };
  return { status: 'accepted', message: 'job accepted' };
}

export function jobStatusDocument(job: V1Job, context: JobStatusContext): JobStatusDocument {
  const annotations = job.metadata?.annotations ?? {};
  const name = job.metadata?.name ?? '';
  const { status, message } = decide(job, context.deleted);
  const created = iso(job.metadata?.creationTimestamp) ?? annotations[ANNOTATIONS.started];
  const started = iso(job.status?.startTime);
  const finishedCondition = trueCondition(job, 'Complete') ?? trueCondition(job, 'SuccessCriteriaMet') ?? trueCondition(job, 'Failed');
  let finished: string | undefined;
  if (status === 'successful' || status === 'failed') {
    finished = iso(job.status?.completionTime) ?? iso(finishedCondition?.lastTransitionTime);
  } else if (status === 'dismissed') {
    finished = iso(annotations[ANNOTATIONS.dismissed]) ?? iso(job.metadata?.deletionTimestamp) ?? context.now.toISOString();
  }
  const updated = [created, started, finished].filter((v): v is string => v !== undefined).sort().pop() ?? context.now.toISOString();
  return {
    jobID: annotations[ANNOTATIONS.identifier] ?? jobIdFromName(name, context.jobNamePrefix ?? DEFAULT_JOB_NAME_PREFIX) ?? name,
    ...(annotations[ANNOTATIONS.processId] ? { processID: annotations[ANNOTATIONS.processId] } : {}),
    type: 'process',
    status,
    message,
    ...(created ? { created } : {}),
    ...(started ? { started } : {}),
    ...(finished ? { finished } : {}),
    updated,
    ...(status === 'successful' ? { progress: 100 } : {}),
  };
}

/** True once the Job will not change its outcome any more. */
export function jobFinished(job: V1Job): boolean {
  const status = decide(job, false).status;
  return status === 'successful' || status === 'failed' || status === 'dismissed';
}
