/** Shapes shared by the webhook's pure core and its server. */

/** How the webhook mutates managed objects; read from the environment by the CLI. */
export interface WebhookSettings {
  /** Add the log-retrieval finalizer to managed pods (only when the controller archives logs). */
  archiveLogs: boolean;
  /** Set on managed Jobs that have no `spec.ttlSecondsAfterFinished`. */
  defaultTtlSecondsAfterFinished?: number;
  /** Set on managed Jobs that have no `spec.activeDeadlineSeconds`. */
  defaultActiveDeadlineSeconds?: number;
  /** Job name prefix from which OGC job ids are derived (see `jobIdFromName`). */
  jobNamePrefix: string;
  /**
   * Usernames whose Jobs keep the identifier and owner annotations they carry
   * (the API's service account). Everyone else's Jobs get a fresh id and their
   * creator as owner. Undefined: every creator is trusted (no identity
   * hardening; the CLI always sets it from PYGEOAPI_K8S_MANAGER_TRUSTED_JOB_CREATORS).
   */
  trustedJobCreators?: readonly string[];
  /**
   * Usernames of the Job controller, the only ones who may create a pod that
   * claims a Job (see `jobClaimRefusal`). Undefined: JOB_CONTROLLER_USERS
   * (the CLI sets it from PYGEOAPI_K8S_MANAGER_JOB_CONTROLLER_USERS).
   */
  jobControllerUsers?: readonly string[];
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The part of an `admission.k8s.io/v1` AdmissionRequest the webhook reads. */
export interface AdmissionRequestLike {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: AdmissionOperation;
  /** Set for subresource requests such as `pods/binding`; those are never mutated. */
  subResource?: string;
  namespace?: string;
  name?: string;
  /** The object being admitted, as the API server sent it (JSON). */
  object?: unknown;
  /** UPDATE: the object as stored before the request (JSON), read by the API server. */
  oldObject?: unknown;
  dryRun?: boolean;
  /** Who makes the request, as the API server authenticated them. */
  userInfo?: { username?: string };
}

/** The RFC 6902 operations the webhook emits. */
export type JsonPatchOp = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };
