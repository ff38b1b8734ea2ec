/**
 * Who may make a pod claim a Job. Pure.
 *
 * The API and the controller count a pod as part of a Job by its
 * ownerReference and Kubernetes' job labels; the pod's log is archived in the
 * Job's folder and its output can become the Job's result. Anyone who may
 * create pods in the jobs namespace could otherwise attach a bare pod to
 * someone else's Job by copying those (a Job's uid is readable by whoever may
 * `get jobs`). Only the Job controller creates the pods of a Job, so only it
 * may create a pod that claims one, or add a claim to a pod.
 */
import { JOB_CLAIM_LABELS } from '../lib/contract.js';
import { isRecord } from '../lib/is-record.js';
import type { AdmissionRequestLike } from './types.js';

/** Each way the object claims a Job, readable (`label job-name=x`, `ownerReference Job "x" (uid u)`). */
export function jobClaims(object: unknown): string[] {
  if (!isRecord(object) || !isRecord(object.metadata)) return [];
  const { labels, ownerReferences } = object.metadata;
  const claims: string[] = [];
  if (isRecord(labels)) {
    for (const key of JOB_CLAIM_LABELS) if (typeof labels[key] === 'string') claims.push(`label ${key}=${labels[key]}`);
  }
  if (Array.isArray(ownerReferences)) {
    for (const ref of ownerReferences) {
      if (isRecord(ref) && ref.kind === 'Job') claims.push(`ownerReference Job "${String(ref.name)}" (uid ${String(ref.uid)})`);
    }
  }
  return claims;
}

/**
 * Why the request must be refused, or undefined. Pods only (not their
 * subresources): a creation that claims a Job, or an update that adds or
 * changes a claim, by anyone but the Job controller. Dropping a claim (the
 * garbage collector orphaning a pod) and every other update are allowed.
 */
export function jobClaimRefusal(request: AdmissionRequestLike, jobControllerUsers: readonly string[]): string | undefined {
  if (request.kind.group !== '' || request.kind.kind !== 'Pod' || request.subResource) return undefined;
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  const user = request.userInfo?.username;
  if (user !== undefined && jobControllerUsers.includes(user)) return undefined;
  const before = new Set(request.operation === 'UPDATE' ? jobClaims(request.oldObject) : []);
  const added = jobClaims(request.object).filter((claim) => !before.has(claim));
  if (added.length === 0) return undefined;
  const who = user === undefined ? 'an unidentified user' : `user "${user}"`;
  const verb = request.operation === 'CREATE' ? 'create a pod with' : 'add to a pod';
  return (
    `${who} may not ${verb} ${added.join(', ')}: a pod with Kubernetes' job labels or a Job ownerReference is counted as part of that Job, ` +
    `so only the Job controller (${jobControllerUsers.join(', ')}) may set them; create a Job instead`
  );
}
