/**
 * Deletion decisions, as the generic registry store makes them: graceful
 * deletion of pods, finalizers that hold objects, the propagation policy's
 * own finalizers, and when an update completes a pending deletion.
 */
import { isRecord, type KubeObject } from './types.js';
import type { ResourceType } from './resources.js';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

export interface DeleteRequest {
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
}

export type DeletionPlan =
  | { action: 'remove' }
  | { action: 'mark'; object: KubeObject }
  | { action: 'unchanged' };

function podGracePeriod(pod: KubeObject, requested: number | undefined): number {
  const spec = isRecord(pod.spec) ? pod.spec : {};
  const status = isRecord(pod.status) ? pod.status : {};
  // Pods that never reached a node, or already finished, go at once.
  if (!spec.nodeName || status.phase === 'Succeeded' || status.phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  return typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
}

function withPolicyFinalizer(finalizers: string[], policy: PropagationPolicy): string[] {
  const wanted = policy === 'Foreground' ? FOREGROUND_FINALIZER : policy === 'Orphan' ? ORPHAN_FINALIZER : undefined;
  const rest = finalizers.filter((f) => f !== FOREGROUND_FINALIZER && f !== ORPHAN_FINALIZER);
  return wanted ? [...rest, wanted] : rest;
}

/** What a DELETE does to the stored object. */
export function planDeletion(type: ResourceType, existing: KubeObject, request: DeleteRequest, now: Date): DeletionPlan {
  const policy = request.propagationPolicy ?? type.defaultPropagation;
  const grace = type.kind === 'Pod' ? podGracePeriod(existing, request.gracePeriodSeconds) : 0;
  const meta = existing.metadata;

  if (meta.deletionTimestamp) {
    // Already being deleted: only a shorter grace period changes anything.
    const current = meta.deletionGracePeriodSeconds ?? 0;
    if (grace >= current) return { action: 'unchanged' };
    if (grace === 0 && (meta.finalizers ?? []).length === 0) return { action: 'remove' };
    const object = structuredClone(existing);
    object.metadata.deletionGracePeriodSeconds = grace;
    object.metadata.deletionTimestamp = new Date(now.getTime() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { action: 'mark', object };
  }

  const finalizers = withPolicyFinalizer(meta.finalizers ?? [], policy);
  if (grace === 0 && finalizers.length === 0 && specFinalizers(existing).length === 0) return { action: 'remove' };
  const object = structuredClone(existing);
  // A namespace with spec.finalizers starts terminating: the namespace controller empties it first.
  if (type.kind === 'Namespace') object.status = { ...(isRecord(object.status) ? object.status : {}), phase: 'Terminating' };
  object.metadata.finalizers = finalizers;
  if (finalizers.length === 0) delete object.metadata.finalizers;
  object.metadata.deletionTimestamp = new Date(now.getTime() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  object.metadata.deletionGracePeriodSeconds = grace;
  return { action: 'mark', object };
}

/** A namespace's `spec.finalizers` (the namespace controller's `kubernetes`), which hold it like metadata finalizers. */
function specFinalizers(object: KubeObject): unknown[] {
  return object.kind === 'Namespace' && isRecord(object.spec) && Array.isArray(object.spec.finalizers) ? object.spec.finalizers : [];
}

/** An update that empties the finalizers of an object whose grace period is over deletes it. */
export function completesDeletion(object: KubeObject): boolean {
  const meta = object.metadata;
  return (
    meta.deletionTimestamp !== undefined &&
    (meta.finalizers ?? []).length === 0 &&
    specFinalizers(object).length === 0 &&
    (meta.deletionGracePeriodSeconds ?? 0) === 0
  );
}
