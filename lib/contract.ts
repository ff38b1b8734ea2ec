/**
 * The job contract: every name that the API, the webhook, the controller and
 * the jobs themselves agree on. This is the only module that spells them out;
 * everything else imports from here.
 *
 * The names are those of 52°North's Python pygeoapi-k8s-manager, so that Jobs
 * made by either manager are understood by both.
 */

/** Prefix of every annotation (and our label) on Jobs and pods. */
export const ANNOTATION_PREFIX = 'pygeoapi.io/';

/** Label that marks a managed Job and its pods; webhook objectSelector and every watch select on it. */
export const MANAGED_LABEL = `${ANNOTATION_PREFIX}managed`;
export const MANAGED_LABEL_VALUE = 'true';

/** Annotations, as the Python manager writes them, plus ours (marked). */
export const ANNOTATIONS = {
  /** The OGC job id. */
  identifier: `${ANNOTATION_PREFIX}identifier`,
  processId: `${ANNOTATION_PREFIX}process_id`,
  /** When the job was accepted; format: formatAnnotationTime. */
  started: `${ANNOTATION_PREFIX}started`,
  /** Same format as `started`. */
  updated: `${ANNOTATION_PREFIX}updated`,
  mimetype: `${ANNOTATION_PREFIX}mimetype`,
  jobName: `${ANNOTATION_PREFIX}job-name`,
  /** The job's inputs as JSON (token removed). */
  parameters: `${ANNOTATION_PREFIX}parameters`,
  resultMimetype: `${ANNOTATION_PREFIX}result-mimetype`,
  resultValue: `${ANNOTATION_PREFIX}result-value`,
  /** kubectl users pass inputs (JSON object) here; the webhook injects them. */
  inputs: `${ANNOTATION_PREFIX}inputs`,
  /** Ours: S3 key holding a result too large for an annotation. */
  resultLocation: `${ANNOTATION_PREFIX}result-location`,
  /** Ours: the execute request's `response` ("raw", the OGC default, or "document"); results answer in it. Absent: raw. */
  response: `${ANNOTATION_PREFIX}response`,
  /** Ours: the output ids the execute request asked for (JSON array), when it named some; results give only those. */
  outputs: `${ANNOTATION_PREFIX}outputs`,
  /** Ours: OGC subscriber (callback URIs) as JSON. */
  subscriber: `${ANNOTATION_PREFIX}subscriber`,
  /** Ours: set when the job was dismissed through the API (ISO time). */
  dismissed: `${ANNOTATION_PREFIX}dismissed`,
  /** Ours, on pods: the archive key of the pod's logs once verified in S3. */
  logArchive: `${ANNOTATION_PREFIX}log-archive`,
  /** Ours, on Jobs: OGC states whose callback was delivered (comma separated). */
  callbacksSent: `${ANNOTATION_PREFIX}callbacks-sent`,
  /**
   * Ours, on Jobs: who owns the job — the authenticated subject of the API
   * execution (username, token name or OIDC subject), or for kubectl-made
   * Jobs the creator's username, stamped by the webhook. Never a credential.
   */
  owner: `${ANNOTATION_PREFIX}owner`,
  /** Ours, on Jobs: digest of who started the job, for the per-principal cap on unfinished jobs. */
  principalKey: `${ANNOTATION_PREFIX}principal-key`,
} as const;

/** Finalizer on job pods that holds them until their logs are archived. */
export const LOG_FINALIZER = `${ANNOTATION_PREFIX}finalizer-log-retrieval`;

/**
 * Kubernetes' own labels by which a pod says which Job it belongs to (the Job
 * controller writes them on every pod it creates, with the Job's
 * ownerReference). A pod carrying one, or an ownerReference of kind Job,
 * claims a Job: the webhook admits that only from the Job controller.
 */
export const JOB_CLAIM_LABELS = ['batch.kubernetes.io/controller-uid', 'controller-uid', 'batch.kubernetes.io/job-name', 'job-name'] as const;

/**
 * Who the Job controller is to the API server: its own service account when
 * kube-controller-manager runs with --use-service-account-credentials (the
 * kubeadm default), else the controller manager's identity.
 */
export const JOB_CONTROLLER_USERS = ['system:serviceaccount:kube-system:job-controller', 'system:kube-controller-manager'] as const;

/** Environment variables injected into every job container and init container. */
export const JOB_ENV = {
  /** The execute request's `inputs` as compact JSON (token removed). */
  inputs: 'PYGEOAPI_K8S_MANAGER_INPUTS',
  jobId: 'PYGEOAPI_JOB_ID',
  processId: 'PYGEOAPI_PROCESS_ID',
} as const;

/** Markers a job prints on stdout to hand back its result. */
export const RESULT_MARKERS = {
  /** A line containing this, followed by the mimetype. */
  mimetype: 'PYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:',
  /** A line containing this; everything after that line is the result value. */
  start: 'PYGEOAPI_K8S_MANAGER_RESULT_START',
} as const;

/** The shape of every job id the API and the webhook hand out (a UUID); ids in URLs are checked against it before any lookup. */
export const JOB_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}

/**
 * Marker a job prints on stdout to report progress, in the style of the
 * result markers: a line containing `PYGEOAPI_K8S_MANAGER_PROGRESS: 42` or
 * `PYGEOAPI_K8S_MANAGER_PROGRESS: 42 optional message` (percent 0-100; the
 * latest marker before the result start marker counts).
 */
export const PROGRESS_MARKER = 'PYGEOAPI_K8S_MANAGER_PROGRESS:';

/** Default prefix of Job names; `PYGEOAPI_K8S_MANAGER_JOB_NAME_PREFIX` overrides it. */
export const DEFAULT_JOB_NAME_PREFIX = 'pygeoapi-job-';

/** The Job name for an OGC job id. */
export function jobNameFor(jobId: string, prefix: string = DEFAULT_JOB_NAME_PREFIX): string {
  return `${prefix}${jobId}`;
}

/** The OGC job id of a Job name, or undefined if the name is not ours. */
export function jobIdFromName(name: string, prefix: string = DEFAULT_JOB_NAME_PREFIX): string | undefined {
  if (!name.startsWith(prefix) || name.length === prefix.length) return undefined;
  return name.slice(prefix.length);
}

interface ObjectMetaLike {
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** True for objects carrying the managed label. */
export function hasManagedLabel(meta: ObjectMetaLike | undefined): boolean {
  return meta?.labels?.[MANAGED_LABEL] === MANAGED_LABEL_VALUE;
}

/**
 * True for Jobs we manage: the label, or a Job the Python manager made
 * (the name prefix and its identifier annotation, no label).
 */
export function isManagedJob(meta: ObjectMetaLike | undefined, prefix: string = DEFAULT_JOB_NAME_PREFIX): boolean {
  if (hasManagedLabel(meta)) return true;
  return (
    meta?.name !== undefined &&
    jobIdFromName(meta.name, prefix) !== undefined &&
    meta.annotations?.[ANNOTATIONS.identifier] !== undefined
  );
}

/** True for pods we archive: the label, our finalizer (Python-made pods), or a Python-made job name. */
export function isManagedPod(meta: ObjectMetaLike | undefined, prefix: string = DEFAULT_JOB_NAME_PREFIX): boolean {
  if (hasManagedLabel(meta)) return true;
  if (meta?.finalizers?.includes(LOG_FINALIZER)) return true;
  const jobName = meta?.labels?.['job-name'] ?? meta?.labels?.['batch.kubernetes.io/job-name'];
  return jobName !== undefined && jobIdFromName(jobName, prefix) !== undefined;
}

/**
 * The time format of `pygeoapi.io/started` and `updated`: UTC, ISO 8601 with
 * microseconds and a literal Z (`2025-01-31T12:00:00.123000Z`), as the Python
 * manager writes them (`datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%S.%fZ')`).
 * The API and the webhook both write it.
 */
export function formatAnnotationTime(date: Date): string {
  // toISOString always ends in `.sssZ`: three zeros before the Z make microseconds (no regex: every Job review writes two).
  const iso = date.toISOString();
  return `${iso.slice(0, -1)}000Z`;
}

const ANNOTATION_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads a time annotation back, tolerant of what older writers left on Jobs
 * still in a cluster: microseconds (the format above), milliseconds (earlier
 * webhooks), whole seconds, or an explicit offset (Python's isoformat()).
 * Undefined for anything else: annotations are user-editable, not trusted.
 */
export function parseAnnotationTime(text: string | undefined): Date | undefined {
  const m = text === undefined ? null : ANNOTATION_TIME.exec(text.trim());
  if (!m) return undefined;
  const millis = (m[2] ?? '').padEnd(3, '0').slice(0, 3);
  const date = new Date(`${m[1]}.${millis}${m[3] === 'Z' ? 'Z' : m[3]}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
