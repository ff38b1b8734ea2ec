/**
 * Pure decisions of the Job controller: how many pods a Job wants now, when
 * it has failed or completed, and the conditions batch/v1 reports for that.
 */
import { isRecord, type KubeObject } from '../api-server/types.js';

export interface JobCondition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
  lastProbeTime: string;
  lastTransitionTime: string;
}

export interface JobCounts {
  /** Container restarts in running/pending pods. */
  restarts: number;
  succeeded: number;
  failed: number;
  active: number;
  terminating: number;
}

export interface JobSpecView {
  completions: number;
  parallelism: number;
  backoffLimit: number;
  activeDeadlineSeconds?: number;
  suspend: boolean;
  /** Pods restart their containers in place, so restarts count as failures. */
  restartOnFailure: boolean;
}

export function jobSpecView(job: KubeObject): JobSpecView {
  const spec = isRecord(job.spec) ? job.spec : {};
  const num = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);
  return {
    completions: num(spec.completions, 1),
    parallelism: num(spec.parallelism, 1),
    backoffLimit: num(spec.backoffLimit, 6),
    activeDeadlineSeconds: typeof spec.activeDeadlineSeconds === 'number' ? spec.activeDeadlineSeconds : undefined,
    suspend: spec.suspend === true,
    restartOnFailure: isRecord(spec.template) && isRecord(spec.template.spec) && spec.template.spec.restartPolicy === 'OnFailure',
  };
}

export function conditionTrue(status: Record<string, unknown>, type: string): boolean {
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  return conditions.some((c) => isRecord(c) && c.type === type && c.status === 'True');
}

export function isFinished(status: Record<string, unknown>): boolean {
  return conditionTrue(status, 'Complete') || conditionTrue(status, 'Failed');
}

export type JobVerdict =
  | { kind: 'failed'; reason: 'BackoffLimitExceeded' | 'DeadlineExceeded'; message: string }
  | { kind: 'complete' }
  | { kind: 'running'; createPods: number };

export function judgeJob(spec: JobSpecView, counts: JobCounts, startTimeMs: number, nowMs: number): JobVerdict {
  const pastOnFailureLimit = spec.restartOnFailure && (spec.backoffLimit === 0 ? counts.restarts > 0 : counts.restarts >= spec.backoffLimit);
  if (counts.failed > spec.backoffLimit || pastOnFailureLimit) {
    return { kind: 'failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  }
  if (spec.activeDeadlineSeconds !== undefined && nowMs - startTimeMs >= spec.activeDeadlineSeconds * 1000) {
    return { kind: 'failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
  }
  if (counts.succeeded >= spec.completions) return { kind: 'complete' };
  const wanted = Math.min(spec.parallelism, spec.completions - counts.succeeded);
  return { kind: 'running', createPods: Math.max(0, wanted - counts.active) };
}

/** Back-off before replacing failed pods: 10s doubling, at most 6 minutes (scaled by `baseMs`). */
export function podCreationBackoffMs(failed: number, baseMs: number): number {
  if (failed === 0) return 0;
  return Math.min(baseMs * 2 ** (failed - 1), 36 * baseMs);
}

export function setCondition(
  conditions: JobCondition[],
  type: string,
  status: 'True' | 'False',
  now: string,
  reason?: string,
  message?: string,
): JobCondition[] {
  const existing = conditions.find((c) => c.type === type);
  if (existing && existing.status === status && existing.reason === reason) return conditions;
  const next: JobCondition = {
    type,
    status,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
    lastProbeTime: now,
    lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime : now,
  };
  return existing ? conditions.map((c) => (c.type === type ? next : c)) : [...conditions, next];
}
