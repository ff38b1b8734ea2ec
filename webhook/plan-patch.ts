/**
 * The webhook's decision: which JSON Patch makes an admitted object a
 * well-formed managed Job or pod. Pure: no API calls, the clock is a parameter.
 *
 * Every operation only adds what is absent (or, for a Job's id and owner,
 * sets what only the webhook may set), so the API server's reinvocation (and
 * a second webhook replica) never adds anything twice, and arrays are never
 * replaced wholesale: other admission plugins may have appended to them.
 */
import type { V1Container, V1EnvVar, V1Job, V1ObjectMeta, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import {
  ANNOTATIONS,
  formatAnnotationTime,
  hasManagedLabel,
  isJobId,
  JOB_ENV,
  jobIdFromName,
  LOG_FINALIZER,
  MANAGED_LABEL,
  MANAGED_LABEL_VALUE,
} from '../lib/contract.js';
import type { AdmissionRequestLike, JsonPatchOp, WebhookSettings } from './types.js';
import { isRecord } from '../lib/is-record.js';

export interface AdmissionPlan {
  patch: JsonPatchOp[];
  warnings: string[];
}

export function planAdmissionPatch(request: AdmissionRequestLike, settings: WebhookSettings, now: Date): AdmissionPlan {
  const plan: AdmissionPlan = { patch: [], warnings: [] };
  // Subresource requests (pods/binding, pods/eviction, jobs/status) are not the object itself.
  if (request.subResource || !isRecord(request.object)) return plan;
  if (request.operation === 'UPDATE') {
    planUpdate(request, settings, plan);
    return plan;
  }
  // Otherwise only creation is ours to shape.
  if (request.operation !== 'CREATE') return plan;
  const metadata = metadataOf(request.object);
  if (!hasManagedLabel(metadata) || metadata?.deletionTimestamp != null) return plan;

  // The API server has decoded and validated the object against its schema
  // before admission, so past the checks above its shape can be trusted;
  // the planners still guard every array they index.
  const { group, kind } = request.kind;
  if (group === 'batch' && kind === 'Job') planJob(request.object as V1Job, request, settings, now, plan);
  else if (group === '' && kind === 'Pod') planPod(request.object as V1Pod, request.uid, settings, plan);
  return plan;
}

/** Whether the requester may set a Job's id and owner (the API's service account); everyone is when no list is configured. */
function trustedCreator(request: AdmissionRequestLike, settings: WebhookSettings): boolean {
  const creator = request.userInfo?.username;
  return settings.trustedJobCreators === undefined || (creator !== undefined && settings.trustedJobCreators.includes(creator));
}

/**
 * An update keeps the id and owner the Job was given: whoever else edits,
 * patches or annotates a managed Job gets both put back to what the stored
 * Job (the review's oldObject, which the API server read, not the requester)
 * carries — removed if it carried none.
 */
function planUpdate(request: AdmissionRequestLike, settings: WebhookSettings, plan: AdmissionPlan): void {
  const { group, kind } = request.kind;
  if (group !== 'batch' || kind !== 'Job' || !isRecord(request.oldObject) || trustedCreator(request, settings)) return;
  const metadata = metadataOf(request.object as Record<string, unknown>);
  const stored = metadataOf(request.oldObject);
  if (!hasManagedLabel(metadata) && !hasManagedLabel(stored)) return;
  const was = stored?.annotations ?? {};
  const now = metadata?.annotations ?? {};
  const kept: Record<string, string | null> = {};
  for (const key of [ANNOTATIONS.identifier, ANNOTATIONS.owner]) {
    kept[key] = was[key] ?? null;
    if (now[key] !== was[key]) plan.warnings.push(`annotation ${key} is set by the manager and cannot be changed; it stays ${was[key] === undefined ? 'unset' : `"${was[key]}"`}`);
  }
  setMapEntries(['metadata', 'annotations'], metadata?.annotations, kept, {}, plan);
}

function planJob(job: V1Job, request: AdmissionRequestLike, settings: WebhookSettings, now: Date, plan: AdmissionPlan): void {
  const meta = job.metadata ?? {};
  const template = job.spec?.template;
  const containerLists = template?.spec ? podContainerLists(template.spec, ['spec', 'template', 'spec']) : [];
  const identity = jobIdentity(meta, containerLists, request.uid, settings.jobNamePrefix, plan.warnings);
  // Identity and ownership are ours to give, not the creator's to claim.
  const forced = trustedCreator(request, settings) ? {} : untrustedIdentity(meta, containerLists, request.uid, request.userInfo?.username, identity, plan);

  if (template) ensurePodTemplateLabel(template.metadata, plan);
  if (template?.spec) ensureNoServiceAccountToken(template.spec, ['spec', 'template', 'spec'], plan);
  for (const list of containerLists) addMissingEnv(list, identity.env, plan);
  ensureSpecDefault(job.spec, 'ttlSecondsAfterFinished', settings.defaultTtlSecondsAfterFinished, plan);
  ensureSpecDefault(job.spec, 'activeDeadlineSeconds', settings.defaultActiveDeadlineSeconds, plan);

  // What the API writes on the Jobs it makes, so kubectl-made Jobs show up in
  // the OGC job list alike. `job-name` is left out: the Python manager does
  // not write it either, and at admission a generateName Job has no name yet.
  const started = formatAnnotationTime(now);
  const annotations: Record<string, string | undefined> = {
    [ANNOTATIONS.identifier]: identity.jobId,
    [ANNOTATIONS.processId]: identity.processId,
    [ANNOTATIONS.started]: started,
    [ANNOTATIONS.updated]: started,
  };
  setMapEntries(['metadata', 'annotations'], meta.annotations, forced, annotations, plan);
}

/**
 * The identity of a Job made by an untrusted creator (a kubectl user), from
 * trusted facts only: the id is the admission request's uid and the owner the
 * creator the API server authenticated, whatever the manifest says. Nothing
 * written in the manifest is kept, not even what looks like our own earlier
 * answer: a reinvocation (another webhook changed the Job after us) comes
 * with a new uid and so gives a new id, written to the annotation and every
 * container's PYGEOAPI_JOB_ID alike, so the admitted Job is always
 * consistent. Updates `identity` (and the containers' env) to match; returns
 * the annotations to force.
 */
function untrustedIdentity(
  meta: V1ObjectMeta,
  lists: ContainerList[],
  requestUid: string,
  creator: string | undefined,
  identity: JobIdentity,
  plan: AdmissionPlan,
): Record<string, string | null> {
  const annotations = meta.annotations ?? {};
  const claimed = annotations[ANNOTATIONS.identifier];
  const jobId = jobIdOfRequest(requestUid);
  if (claimed !== undefined && claimed !== jobId) {
    plan.warnings.push(`annotation ${ANNOTATIONS.identifier} is set by the manager; "${claimed}" was replaced by "${jobId}"`);
  }
  identity.jobId = jobId;
  identity.env = identity.env.map((v) => (v.name === JOB_ENV.jobId ? { name: v.name, value: jobId } : v));
  for (const list of lists) replaceEnv(list, JOB_ENV.jobId, jobId, plan);
  const owner = annotations[ANNOTATIONS.owner];
  if (owner !== undefined && owner !== creator) {
    plan.warnings.push(`annotation ${ANNOTATIONS.owner} is set by the manager to the Job's creator; "${owner}" was ${creator === undefined ? 'removed' : 'replaced'}`);
  }
  return { [ANNOTATIONS.identifier]: jobId, [ANNOTATIONS.owner]: creator ?? null };
}

/** The admission request's uid as a job id: it is a UUID from a real API server; anything else is hashed into that shape. */
function jobIdOfRequest(uid: string): string {
  const lower = uid.toLowerCase();
  if (isJobId(lower)) return lower;
  const hex = createHash('sha256').update(uid).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Sets every env var of that name to the literal value (a `valueFrom` included): the manifest may not choose it. */
function replaceEnv(list: ContainerList, name: string, value: string, plan: AdmissionPlan): void {
  list.containers.forEach((container, index) => {
    if (!isRecord(container) || !Array.isArray(container.env)) return;
    container.env.forEach((entry: unknown, at: number) => {
      if (!isRecord(entry) || entry.name !== name) return;
      if (entry.value === value && entry.valueFrom === undefined) return;
      plan.patch.push({ op: 'replace', path: pointer([...list.path, String(index), 'env', String(at)]), value: { name, value } });
    });
  });
}

function planPod(pod: V1Pod, requestUid: string, settings: WebhookSettings, plan: AdmissionPlan): void {
  const meta = pod.metadata ?? {};
  if (settings.archiveLogs) ensureFinalizer(meta.finalizers, LOG_FINALIZER, plan);

  // Pods of a Job inherit the env from the Job's template (patched at Job
  // creation); only a bare labelled pod needs it here.
  const ownedByJob = (meta.ownerReferences ?? []).some((ref) => ref.kind === 'Job');
  if (ownedByJob || !pod.spec) return;
  // Too late for a pod's token volume (the ServiceAccount admission plugin ran first), but the kubelet honours the field.
  ensureNoServiceAccountToken(pod.spec, ['spec'], plan);
  const containerLists = podContainerLists(pod.spec, ['spec']);
  const identity = jobIdentity(meta, containerLists, requestUid, settings.jobNamePrefix, plan.warnings);
  for (const list of containerLists) addMissingEnv(list, identity.env, plan);
}

interface ContainerList {
  path: string[];
  containers: unknown[];
}

function podContainerLists(spec: { containers?: V1Container[]; initContainers?: V1Container[] }, base: string[]): ContainerList[] {
  const lists: ContainerList[] = [];
  if (Array.isArray(spec.containers)) lists.push({ path: [...base, 'containers'], containers: spec.containers });
  if (Array.isArray(spec.initContainers)) lists.push({ path: [...base, 'initContainers'], containers: spec.initContainers });
  return lists;
}

interface JobIdentity {
  jobId: string;
  processId: string | undefined;
  /** The env vars to inject, in a stable order; a var whose value is unknown is left out. */
  env: V1EnvVar[];
}

/**
 * Who the job is. Annotations win; next a literal value the manifest already
 * gives one of its containers (so the annotation we add agrees with what the
 * container sees); then what the name says.
 *
 * A generateName Job has no name at admission (the name is generated after
 * mutating admission), so its id is the admission request's uid: a UUID,
 * like pygeoapi's own job ids, and unique per request (an untrusted creator's
 * Job gets it whatever it is named, see `untrustedIdentity`). Such a Job's
 * name is then not `prefix + id`, so it is found by the identifier annotation.
 */
function jobIdentity(
  meta: V1ObjectMeta,
  lists: ContainerList[],
  requestUid: string,
  prefix: string,
  warnings: string[],
): JobIdentity {
  const annotations = meta.annotations ?? {};
  const nameId = meta.name ? (jobIdFromName(meta.name, prefix) ?? meta.name) : requestUid;
  const jobId = annotations[ANNOTATIONS.identifier] ?? literalEnvValue(lists, JOB_ENV.jobId) ?? nameId;
  const processId = annotations[ANNOTATIONS.processId] ?? literalEnvValue(lists, JOB_ENV.processId);
  const inputs = inputsEnvValue(annotations[ANNOTATIONS.inputs], warnings);

  const env: V1EnvVar[] = [];
  // `null` means the annotation is unusable: warned about, and the var is left alone.
  if (inputs !== null) env.push({ name: JOB_ENV.inputs, value: inputs ?? literalEnvValue(lists, JOB_ENV.inputs) ?? '{}' });
  env.push({ name: JOB_ENV.jobId, value: jobId });
  if (processId !== undefined) env.push({ name: JOB_ENV.processId, value: processId });
  return { jobId, processId, env };
}

/** Compact JSON of the inputs annotation; undefined when absent, null (with a warning) when not a JSON object. */
function inputsEnvValue(raw: string | undefined, warnings: string[]): string | undefined | null {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    warnings.push(`annotation ${ANNOTATIONS.inputs} is not valid JSON; ${JOB_ENV.inputs} was not set`);
    return null;
  }
  if (!isRecord(parsed)) {
    warnings.push(`annotation ${ANNOTATIONS.inputs} must be a JSON object; ${JOB_ENV.inputs} was not set`);
    return null;
  }
  return JSON.stringify(parsed);
}

function literalEnvValue(lists: ContainerList[], name: string): string | undefined {
  for (const { containers } of lists) {
    for (const container of containers) {
      const found = envVars(container).find((v) => v.name === name && typeof v.value === 'string');
      if (found?.value !== undefined) return found.value;
    }
  }
  return undefined;
}

function envVars(container: unknown): V1EnvVar[] {
  if (!isRecord(container) || !Array.isArray(container.env)) return [];
  return container.env.filter((v): v is V1EnvVar => isRecord(v) && typeof v.name === 'string');
}

/** Adds each var a container lacks by name (a `valueFrom` var of that name counts as present). */
function addMissingEnv(list: ContainerList, wanted: V1EnvVar[], plan: AdmissionPlan): void {
  list.containers.forEach((container, index) => {
    if (!isRecord(container)) return;
    const present = new Set(envVars(container).map((v) => v.name));
    const missing = wanted.filter((v) => !present.has(v.name));
    if (missing.length === 0) return;
    const envPath = [...list.path, String(index), 'env'];
    if (!Array.isArray(container.env)) {
      plan.patch.push({ op: 'add', path: pointer(envPath), value: missing });
      return;
    }
    for (const v of missing) plan.patch.push({ op: 'add', path: pointer([...envPath, '-']), value: v });
  });
}

function ensurePodTemplateLabel(templateMeta: V1ObjectMeta | undefined, plan: AdmissionPlan): void {
  const base = ['spec', 'template', 'metadata'];
  if (!templateMeta) {
    plan.patch.push({ op: 'add', path: pointer(base), value: { labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE } } });
    return;
  }
  const current = templateMeta.labels?.[MANAGED_LABEL];
  if (current !== undefined && current !== MANAGED_LABEL_VALUE) {
    // The Job is managed, so its pods must be too (log archiving selects on this label).
    plan.patch.push({ op: 'replace', path: pointer([...base, 'labels', MANAGED_LABEL]), value: MANAGED_LABEL_VALUE });
    plan.warnings.push(`pod template label ${MANAGED_LABEL} was "${current}"; set to "${MANAGED_LABEL_VALUE}"`);
    return;
  }
  addMissingMapEntries([...base, 'labels'], templateMeta.labels, { [MANAGED_LABEL]: MANAGED_LABEL_VALUE }, plan);
}

/**
 * `forced` entries are set whatever the map holds (null: removed);
 * `defaults` only where the map lacks them. The whole map when it is absent.
 */
function setMapEntries(
  path: string[],
  current: Record<string, string> | undefined,
  forced: Record<string, string | null>,
  defaults: Record<string, string | undefined>,
  plan: AdmissionPlan,
): void {
  const wanted = Object.entries(forced).filter((e): e is [string, string] => e[1] !== null);
  if (!current) {
    const map = { ...Object.fromEntries(Object.entries(defaults).filter((e) => e[1] !== undefined)), ...Object.fromEntries(wanted) };
    if (Object.keys(map).length) plan.patch.push({ op: 'add', path: pointer(path), value: map });
    return;
  }
  for (const [key, value] of Object.entries(forced)) {
    if (value === null) {
      if (current[key] !== undefined) plan.patch.push({ op: 'remove', path: pointer([...path, key]) });
    } else if (current[key] !== value) {
      plan.patch.push({ op: current[key] === undefined ? 'add' : 'replace', path: pointer([...path, key]), value });
    }
  }
  addMissingMapEntries(path, current, Object.fromEntries(Object.entries(defaults).filter(([k]) => !(k in forced))), plan);
}

/** Adds the entries the map lacks; the whole map when it is absent. Undefined values are skipped. */
function addMissingMapEntries(
  path: string[],
  current: Record<string, string> | undefined,
  wanted: Record<string, string | undefined>,
  plan: AdmissionPlan,
): void {
  const missing = Object.entries(wanted).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && current?.[entry[0]] === undefined,
  );
  if (missing.length === 0) return;
  if (!current) {
    plan.patch.push({ op: 'add', path: pointer(path), value: Object.fromEntries(missing) });
    return;
  }
  for (const [key, value] of missing) plan.patch.push({ op: 'add', path: pointer([...path, key]), value });
}

function ensureSpecDefault(
  spec: V1Job['spec'],
  field: 'ttlSecondsAfterFinished' | 'activeDeadlineSeconds',
  value: number | undefined,
  plan: AdmissionPlan,
): void {
  if (value === undefined || !spec || spec[field] != null) return;
  plan.patch.push({ op: 'add', path: pointer(['spec', field]), value });
}

/**
 * Job pods get no Kubernetes API token unless they name a service account of
 * their own: a process's code has no business calling the API, and a leaked
 * default token is a foothold in the jobs namespace.
 */
function ensureNoServiceAccountToken(spec: V1PodSpec, path: string[], plan: AdmissionPlan): void {
  const account = spec.serviceAccountName ?? spec.serviceAccount;
  if ((account && account !== 'default') || spec.automountServiceAccountToken === false) return;
  plan.patch.push({ op: 'add', path: pointer([...path, 'automountServiceAccountToken']), value: false });
}

/** Appends the finalizer unless present; other finalizers are left untouched. */
function ensureFinalizer(finalizers: string[] | undefined, finalizer: string, plan: AdmissionPlan): void {
  if (!Array.isArray(finalizers)) {
    plan.patch.push({ op: 'add', path: pointer(['metadata', 'finalizers']), value: [finalizer] });
  } else if (!finalizers.includes(finalizer)) {
    plan.patch.push({ op: 'add', path: pointer(['metadata', 'finalizers', '-']), value: finalizer });
  }
}

/** RFC 6901 pointer; `~` and `/` in keys (as in `pygeoapi.io/managed`) are escaped. On every review's path: no regex, no array built. */
function pointer(segments: string[]): string {
  let out = '';
  for (const segment of segments) {
    out += '/';
    out += segment.includes('~') || segment.includes('/') ? segment.replaceAll('~', '~0').replaceAll('/', '~1') : segment;
  }
  return out;
}

function metadataOf(object: Record<string, unknown>): V1ObjectMeta | undefined {
  return isRecord(object.metadata) ? (object.metadata as V1ObjectMeta) : undefined;
}

