/**
 * The webhook's decision: which JSON Patch makes an admitted object a
 * well-formed managed Job or pod. Pure: no API calls, the clock is a parameter.
 *
 * Every operation only adds what is absent, so the API server's reinvocation
 * (and a second webhook replica) never adds anything twice, and arrays are
 * never replaced wholesale: other admission plugins may have appended to them.
 */
import type { V1Container, V1EnvVar, V1Job, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import {
  ANNOTATIONS,
  formatAnnotationTime,
  hasManagedLabel,
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
  // Only creation is ours to shape; subresource creates (pods/binding, pods/eviction) are not the object itself.
  if (request.operation !== 'CREATE' || request.subResource) return plan;
  if (!isRecord(request.object)) return plan;
  const metadata = metadataOf(request.object);
  if (!hasManagedLabel(metadata) || metadata?.deletionTimestamp != null) return plan;

  // The API server has decoded and validated the object against its schema
  // before admission, so past the checks above its shape can be trusted;
  // the planners still guard every array they index.
  const { group, kind } = request.kind;
  if (group === 'batch' && kind === 'Job') planJob(request.object as V1Job, request.uid, settings, now, plan);
  else if (group === '' && kind === 'Pod') planPod(request.object as V1Pod, request.uid, settings, plan);
  return plan;
}

function planJob(job: V1Job, requestUid: string, settings: WebhookSettings, now: Date, plan: AdmissionPlan): void {
  const meta = job.metadata ?? {};
  const template = job.spec?.template;
  const containerLists = template?.spec ? podContainerLists(template.spec, ['spec', 'template', 'spec']) : [];
  const identity = jobIdentity(meta, containerLists, requestUid, settings.jobNamePrefix, plan.warnings);

  if (template) ensurePodTemplateLabel(template.metadata, plan);
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
  addMissingMapEntries(['metadata', 'annotations'], meta.annotations, annotations, plan);
}

function planPod(pod: V1Pod, requestUid: string, settings: WebhookSettings, plan: AdmissionPlan): void {
  const meta = pod.metadata ?? {};
  if (settings.archiveLogs) ensureFinalizer(meta.finalizers, LOG_FINALIZER, plan);

  // Pods of a Job inherit the env from the Job's template (patched at Job
  // creation); only a bare labelled pod needs it here.
  const ownedByJob = (meta.ownerReferences ?? []).some((ref) => ref.kind === 'Job');
  if (ownedByJob || !pod.spec) return;
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
 * like pygeoapi's own job ids, and unique per request. It is recorded in the
 * identifier annotation, which makes reinvocation (a new uid) keep it. Such a
 * Job's name is then not `prefix + id`, so it is found by that annotation.
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

/** Appends the finalizer unless present; other finalizers are left untouched. */
function ensureFinalizer(finalizers: string[] | undefined, finalizer: string, plan: AdmissionPlan): void {
  if (!Array.isArray(finalizers)) {
    plan.patch.push({ op: 'add', path: pointer(['metadata', 'finalizers']), value: [finalizer] });
  } else if (!finalizers.includes(finalizer)) {
    plan.patch.push({ op: 'add', path: pointer(['metadata', 'finalizers', '-']), value: finalizer });
  }
}

/** RFC 6901 pointer; `~` and `/` in keys (as in `pygeoapi.io/managed`) are escaped. */
function pointer(segments: string[]): string {
  return segments.map((s) => '/' + s.replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

function metadataOf(object: Record<string, unknown>): V1ObjectMeta | undefined {
  return isRecord(object.metadata) ? (object.metadata as V1ObjectMeta) : undefined;
}

