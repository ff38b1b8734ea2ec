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
  dryRun?: boolean;
}

/** The RFC 6902 operations the webhook emits. */
export interface JsonPatchOp {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}
