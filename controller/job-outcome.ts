/**
 * How a job ended, for its record, when its Job is gone or its last seen state is behind the pod's. Pure.
 *
 * The Job's own last state decides when it says how the job ended (its
 * dismissed annotation, its Complete or Failed condition). It may not: the
 * controller came after the Job was deleted (a restart, a new leader) and
 * never saw it, or the Job watch lagged and its last seen state is from
 * before the end. Then the pod decides: "dismissed" means dismissed through
 * the API or deleted while it still ran; a pod that ran to its end before it
 * was deleted keeps its real outcome (successful or failed).
 *
 * Whether the pod ended before its deletion is best known by having watched
 * it (every replica watches, leader or not). A controller that first saw the
 * pod already deleted judges from its timestamps: a pod deleted once
 * finished is marked at the deletion time, after its containers' end; a pod
 * deleted while running is marked at the request plus its grace period
 * (`deletionGracePeriodSeconds`, subtracted to get the request's time), and
 * again by the kubelet when its containers stopped, in the same second
 * (seconds are the API's precision). In the same
 * second (a Job deleted the moment it completed, say), how the containers
 * exited decides: stopped by SIGTERM or SIGKILL (exit 143, 137) is "deleted
 * while running"; a container that exits 0 on SIGTERM is taken as ended.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { decideStatus, statusInfo, type OgcStatus, type StatusInfo } from '../lib/job-status.js';
import { isTerminalPhase } from './pod-view.js';

/**
 * What watching a pod showed: `true` once seen ended and not deleted,
 * `false` once seen deleted while not ended; undefined before either.
 */
export function observeEnding(pod: V1Pod, known: boolean | undefined): boolean | undefined {
  if (known !== undefined) return known;
  const deleted = pod.metadata?.deletionTimestamp !== undefined;
  if (isTerminalPhase(pod) && !deleted) return true;
  if (deleted && !isTerminalPhase(pod)) return false;
  return undefined;
}

/** The pod ended (Succeeded or Failed) before anyone deleted it. */
export function endedBeforeDeletion(pod: V1Pod, observed: boolean | undefined): boolean {
  if (!isTerminalPhase(pod)) return false;
  const deletion = pod.metadata?.deletionTimestamp;
  if (deletion === undefined) return true;
  if (observed !== undefined) return observed;
  const ended = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
    .map((c) => c.state?.terminated)
    .filter((t) => t?.finishedAt !== undefined);
  if (ended.length === 0) return false;
  const lastEnd = Math.max(...ended.map((t) => new Date(t!.finishedAt!).getTime()));
  // A pod deleted while it ran is marked at the request plus its grace period until the kubelet's final delete marks it
  // again (grace 0): the request's own time is the mark less the grace period still on it.
  const deletedAt = new Date(deletion).getTime() - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
  if (Math.floor(lastEnd / 1000) < Math.floor(deletedAt / 1000)) return true;
  // The same second: ended by itself, or stopped by the kubelet for the deletion (SIGTERM, then SIGKILL)?
  return !ended.some((t) => STOPPED_BY_SIGNAL.has(t!.exitCode));
}

/** Exit codes of a container stopped with SIGTERM (143) or SIGKILL (137), as the kubelet stops them for a deletion. */
const STOPPED_BY_SIGNAL: ReadonlySet<number> = new Set([137, 143]);

export interface RecordedStatus {
  status: StatusInfo;
  /** Decided from the pod because the Job's last known state did not say how it ended. */
  inferred: boolean;
}

const FINAL: ReadonlySet<OgcStatus> = new Set(['successful', 'failed', 'dismissed']);

/**
 * The status for the job record of a pod's archive. `job` is the Job live,
 * as last seen before its deletion, or a stand-in made from the pod.
 */
export function recordedStatus(job: V1Job, jobDeleted: boolean, pod: V1Pod, podEndedFirst: boolean, prefix: string): RecordedStatus {
  const objects = { job, pods: [pod], events: [] };
  if (FINAL.has(decideStatus(objects).status)) return { status: statusInfo({ ...objects, deleted: jobDeleted }, prefix), inferred: false };
  // A live Job not ended yet, with this pod deleted while it ran: a next pod may still run; the Job's own state stands.
  if (!jobDeleted && !podEndedFirst) return { status: statusInfo({ ...objects, deleted: false }, prefix), inferred: false };
  // The pod ran to its end, but the Job as last seen does not say so: the Job watch lags (a stalled or dropped watch
  // while the Job completed and was deleted), or the Job has not counted the pod yet. The pod decides; the Job's
  // later final state, should another pod be archived, replaces what is inferred here.
  if (!podEndedFirst) return { status: statusInfo({ ...objects, deleted: true }, prefix), inferred: true };
  const succeeded = pod.status?.phase === 'Succeeded';
  const condition = { type: succeeded ? 'Complete' : 'Failed', status: 'True', reason: succeeded ? 'PodSucceeded' : 'PodFailed', message: 'the pod ended before the Job was deleted' };
  const ended: V1Job = { ...job, status: { ...job.status, conditions: [...(job.status?.conditions ?? []), condition] } };
  return { status: statusInfo({ job: ended, pods: [pod], events: [], deleted: true }, prefix), inferred: true };
}

/**
 * An inferred status never undoes a final one already recorded for another
 * pod of the job: a pod that succeeded made the job successful; a pod
 * deleted while running made it dismissed, whatever failed before.
 */
const RANK: Record<string, number> = { successful: 3, dismissed: 2, failed: 1 };

export function mergeInferred(existing: Record<string, unknown> | undefined, inferred: StatusInfo): StatusInfo {
  const before = typeof existing?.status === 'string' ? RANK[existing.status] : undefined;
  // The record's status is a StatusInfo this controller wrote.
  return before !== undefined && before >= (RANK[inferred.status] ?? 0) ? (existing as unknown as StatusInfo) : inferred;
}
