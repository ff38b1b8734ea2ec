/**
 * What the real registry strategies do to objects on their way into storage:
 * system fields on create, generated Job selectors and pod-template labels,
 * status kept apart from spec (the status subresource), generations.
 */
import { randomUUID } from 'node:crypto';
import { isRecord, type KubeObject, type ObjectMeta } from './types.js';
import type { ResourceType } from './resources.js';

/** generateName suffix alphabet of the real server (no vowels, no confusable digits). */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateNameSuffix(): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return suffix;
}

export function rfc3339(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function initialStatus(kind: string): unknown {
  switch (kind) {
    case 'Pod':
      return { phase: 'Pending', qosClass: 'BestEffort' };
    case 'Namespace':
      return { phase: 'Active' };
    case 'Job':
      return {};
    case 'Service':
      return { loadBalancer: {} };
    default:
      return undefined;
  }
}

/** rest.BeforeCreate: system fields, generated name, cleared status, Job selector. */
export function prepareForCreate(type: ResourceType, obj: KubeObject, now: Date): void {
  const meta = obj.metadata;
  if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${generateNameSuffix()}`;
  meta.uid = randomUUID();
  meta.creationTimestamp = rfc3339(now);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  if (type.kind === 'Job' || type.kind === 'Pod' || type.kind === 'Service') meta.generation = 1;
  if (type.hasStatus) {
    const status = initialStatus(type.kind);
    if (status === undefined) delete obj.status;
    else obj.status = status;
  }
  if (type.kind === 'Job') {
    generateJobSelector(obj);
    defaultJobLabels(obj);
  }
}

/** SetDefaults_Job: a Job without labels takes its pod template's (selector labels included). */
function defaultJobLabels(job: KubeObject): void {
  if (job.metadata.labels && Object.keys(job.metadata.labels).length > 0) return;
  const template = isRecord(job.spec) && isRecord(job.spec.template) ? job.spec.template : undefined;
  const labels = template && isRecord(template.metadata) && isRecord(template.metadata.labels) ? template.metadata.labels : undefined;
  if (labels) job.metadata.labels = { ...(labels as Record<string, string>) };
}

/**
 * Empty lists and maps in metadata are left out of stored objects, as Go's
 * JSON encoder (omitempty) leaves them out of every response: a Pod whose
 * last finalizer was removed has no `finalizers: []`.
 */
export function dropEmptyMetadata(obj: KubeObject): void {
  const meta = obj.metadata;
  for (const key of ['finalizers', 'ownerReferences', 'managedFields'] as const) {
    if (Array.isArray(meta[key]) && meta[key].length === 0) delete meta[key];
  }
  for (const key of ['labels', 'annotations'] as const) {
    if (isRecord(meta[key]) && Object.keys(meta[key]).length === 0) delete meta[key];
    if (meta[key] === null) delete meta[key];
  }
}

/** The Job strategy's generated selector and the labels it puts on the pod template. */
function generateJobSelector(job: KubeObject): void {
  const spec = job.spec;
  if (!isRecord(spec) || spec.manualSelector === true) return;
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name ?? '';
  spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  const template = isRecord(spec.template) ? spec.template : (spec.template = {});
  const templateMeta: ObjectMeta = isRecord(template.metadata) ? (template.metadata as ObjectMeta) : {};
  templateMeta.labels = {
    ...templateMeta.labels,
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  };
  template.metadata = templateMeta;
}

/**
 * The update strategies. A main-resource update keeps the stored status; a
 * status update keeps everything else, including labels, annotations,
 * finalizers and owners (metav1.ResetObjectMetaForStatus).
 */
export function prepareForUpdate(type: ResourceType, next: KubeObject, previous: KubeObject, subresource: 'status' | undefined): void {
  const meta = next.metadata;
  const old = previous.metadata;
  meta.uid = old.uid;
  meta.creationTimestamp = old.creationTimestamp;
  meta.name = old.name;
  meta.namespace = old.namespace;
  meta.deletionTimestamp = old.deletionTimestamp;
  meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
  if (meta.deletionTimestamp === undefined) delete meta.deletionTimestamp;
  if (meta.deletionGracePeriodSeconds === undefined) delete meta.deletionGracePeriodSeconds;
  if (subresource === 'status') {
    for (const field of Object.keys(next)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(field)) delete next[field];
    for (const field of Object.keys(previous)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(field)) next[field] = previous[field];
    meta.labels = old.labels;
    meta.annotations = old.annotations;
    meta.finalizers = old.finalizers;
    meta.ownerReferences = old.ownerReferences;
    meta.generation = old.generation;
    for (const key of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'generation'] as const) {
      if (meta[key] === undefined) delete meta[key];
    }
    return;
  }
  // A client that sends no managedFields leaves them as they are.
  if (meta.managedFields === undefined && old.managedFields !== undefined) meta.managedFields = old.managedFields;
  if (type.hasStatus) {
    if (previous.status === undefined) delete next.status;
    else next.status = previous.status;
  }
  if (old.generation !== undefined) {
    meta.generation = JSON.stringify(next.spec) !== JSON.stringify(previous.spec) ? old.generation + 1 : old.generation;
  }
}
