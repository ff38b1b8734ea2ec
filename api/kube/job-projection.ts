/**
 * What the API's watch cache keeps of each Job, pod and Event: the fields
 * its consumers read (status decision, listing, progress, logs, results,
 * access control, limits), read straight from the raw JSON of a list or
 * watch. Whole deserialized objects cost ≈ 10 times more memory (a Job
 * carries its inputs twice: in an annotation and in every container's env)
 * and most of the time of a cache sync.
 *
 * Kept of a Job: name, namespace, uid, resourceVersion, creation and
 * deletion times, labels, the annotations up to ANNOTATION_BYTES_KEPT each
 * (never the inputs: `parameters`, `inputs`), spec.backoffLimit, and its
 * status counts, times and conditions. An annotation left out for its size
 * (a large `result-value`) is named by `omittedAnnotations`, and read from
 * the API server when needed. Of a pod: name, uid, labels, its Job owner
 * reference, container names, phase and container states. Of an Event: its
 * object's uid and kind, reason, message and times.
 *
 * Pure: raw JSON in, typed objects out (timestamps as Dates, as the
 * client's own deserializer makes them).
 */
import type {
  CoreV1Event,
  V1ContainerState,
  V1ContainerStatus,
  V1Job,
  V1JobCondition,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
} from '@kubernetes/client-node';
import { ANNOTATIONS } from '../../lib/contract.js';
import { isRecord } from '../../lib/is-record.js';

/** Largest annotation value (in UTF-16 code units, ≈ bytes) kept in the cache; larger ones are read on demand. */
export const ANNOTATION_BYTES_KEPT = 4096;

/** Annotations the API never reads from the cache: the job's inputs (the Job's own record of them). */
const NEVER_KEPT: ReadonlySet<string> = new Set([ANNOTATIONS.parameters, ANNOTATIONS.inputs]);

/** Names of the annotations a projected Job left out for their size (bound: one entry per cached Job, gone with it). */
const omitted = new WeakMap<V1Job, readonly string[]>();

type Raw = Record<string, unknown>;

function record(value: unknown): Raw | undefined {
  return isRecord(value) ? value : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function time(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function strings(value: unknown): Record<string, string> | undefined {
  const map = record(value);
  if (!map) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(map)) if (typeof v === 'string') out[key] = v;
  return out;
}

/**
 * `fields` without its undefined ones (absent stays absent, as in the
 * client's own objects), as a new object built by adding properties: deleting
 * them instead would turn every cached object into a dictionary, several
 * times larger.
 */
function defined<T extends object>(fields: T): T {
  const out: Partial<T> = {};
  for (const key of Object.keys(fields) as Array<keyof T>) if (fields[key] !== undefined) out[key] = fields[key];
  return out as T;
}

function metadata(raw: unknown): V1ObjectMeta {
  const m = record(raw) ?? {};
  return defined({
    name: text(m.name),
    namespace: text(m.namespace),
    uid: text(m.uid),
    resourceVersion: text(m.resourceVersion),
    creationTimestamp: time(m.creationTimestamp),
    deletionTimestamp: time(m.deletionTimestamp),
    labels: strings(m.labels),
  } as V1ObjectMeta);
}

export function projectJob(raw: unknown): V1Job {
  const r = record(raw) ?? {};
  const meta = metadata(r.metadata);
  const left: string[] = [];
  const annotations = strings(record(r.metadata)?.annotations);
  if (annotations) {
    const kept: Record<string, string> = {};
    for (const [key, value] of Object.entries(annotations)) {
      if (NEVER_KEPT.has(key)) continue;
      if (value.length > ANNOTATION_BYTES_KEPT) left.push(key);
      else kept[key] = value;
    }
    meta.annotations = kept;
  }
  const spec = record(r.spec);
  const status = record(r.status);
  const job: V1Job = { metadata: meta };
  const backoffLimit = count(spec?.backoffLimit);
  if (backoffLimit !== undefined) job.spec = { backoffLimit } as V1Job['spec'];
  if (status) {
    const conditions = Array.isArray(status.conditions) ? status.conditions.map(record).filter((c): c is Raw => c !== undefined).map(condition) : undefined;
    job.status = defined({
      active: count(status.active),
      succeeded: count(status.succeeded),
      failed: count(status.failed),
      startTime: time(status.startTime),
      completionTime: time(status.completionTime),
      conditions,
    });
  }
  if (left.length) omitted.set(job, left);
  return job;
}

function condition(c: Raw): V1JobCondition {
  return defined({
    type: text(c.type) ?? '',
    status: text(c.status) ?? '',
    reason: text(c.reason),
    message: text(c.message),
    lastTransitionTime: time(c.lastTransitionTime),
  });
}

/** Annotations of `job` left out of the cache for their size (read them from the API server). */
export function omittedAnnotations(job: V1Job): readonly string[] {
  return omitted.get(job) ?? [];
}

function containerState(raw: unknown): V1ContainerState | undefined {
  const s = record(raw);
  if (!s) return undefined;
  const waiting = record(s.waiting);
  const running = record(s.running);
  const terminated = record(s.terminated);
  return defined({
    waiting: waiting ? defined({ reason: text(waiting.reason), message: text(waiting.message) }) : undefined,
    running: running ? defined({ startedAt: time(running.startedAt) }) : undefined,
    terminated: terminated
      ? defined({
          exitCode: count(terminated.exitCode) ?? 0,
          reason: text(terminated.reason),
          message: text(terminated.message),
          startedAt: time(terminated.startedAt),
          finishedAt: time(terminated.finishedAt),
        })
      : undefined,
  });
}

function containerStatuses(raw: unknown): V1ContainerStatus[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  return raw
    .map(record)
    .filter((c): c is Raw => c !== undefined)
    .map((c) =>
      defined({
        name: text(c.name) ?? '',
        image: text(c.image) ?? '',
        imageID: text(c.imageID) ?? '',
        ready: c.ready === true,
        restartCount: count(c.restartCount) ?? 0,
        state: containerState(c.state),
        lastState: containerState(c.lastState),
      }),
    );
}

function containerNames(raw: unknown): Array<{ name: string }> | undefined {
  if (!Array.isArray(raw)) return undefined;
  return raw.map(record).flatMap((c) => (c && typeof c.name === 'string' ? [{ name: c.name }] : []));
}

function jobOwner(raw: unknown): V1OwnerReference[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const owners = raw
    .map(record)
    .filter((o): o is Raw => o?.kind === 'Job')
    .map((o) => ({ apiVersion: text(o.apiVersion) ?? '', kind: 'Job', name: text(o.name) ?? '', uid: text(o.uid) ?? '', ...(o.controller === true ? { controller: true } : {}) }));
  return owners.length ? owners : undefined;
}

export function projectPod(raw: unknown): V1Pod {
  const r = record(raw) ?? {};
  const meta = metadata(r.metadata);
  const owners = jobOwner(record(r.metadata)?.ownerReferences);
  if (owners) meta.ownerReferences = owners;
  const spec = record(r.spec);
  const status = record(r.status);
  const pod: V1Pod = { metadata: meta };
  if (spec) pod.spec = defined({ initContainers: containerNames(spec.initContainers), containers: containerNames(spec.containers) ?? [] }) as V1Pod['spec'];
  if (status) {
    pod.status = defined({
      phase: text(status.phase),
      initContainerStatuses: containerStatuses(status.initContainerStatuses),
      containerStatuses: containerStatuses(status.containerStatuses),
    });
  }
  return pod;
}

export function projectEvent(raw: unknown): CoreV1Event {
  const r = record(raw) ?? {};
  const involved = record(r.involvedObject) ?? {};
  return defined({
    metadata: metadata(r.metadata),
    involvedObject: defined({ kind: text(involved.kind), name: text(involved.name), uid: text(involved.uid) }),
    reason: text(r.reason),
    message: text(r.message),
    type: text(r.type),
    lastTimestamp: time(r.lastTimestamp),
    eventTime: time(r.eventTime),
  });
}
