/**
 * The resource types the stand-in serves, described once: discovery, routing,
 * validation and the OpenAPI documents are all derived from this table.
 */

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  /** Subresources served under /<plural>/<name>/<sub>. */
  subresources: Array<'status' | 'log' | 'token'>;
  /** Propagation policy when a delete names none (batch/v1 Jobs orphan, for backwards compatibility). */
  defaultPropagation: 'Background' | 'Orphan';
  /** Kinds whose status is only written through the status subresource. */
  hasStatus: boolean;
  categories?: string[];
  /**
   * Review-style kinds (TokenReview, SubjectAccessReview…) are only created:
   * the answer is computed, returned and never stored.
   */
  createOnly?: boolean;
  /** False where the strategy's AllowUnconditionalUpdate is false (Leases): a PUT must carry a resourceVersion. */
  unconditionalUpdate?: boolean;
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const CREATE_ONLY = ['create'];
const RBAC_GROUP = 'rbac.authorization.k8s.io';

function stored(group: string, version: string, kind: string, namespaced: boolean, extra: Partial<ResourceType> = {}): ResourceType {
  const plural = `${kind.toLowerCase()}s`;
  return { group, version, kind, plural, singular: kind.toLowerCase(), namespaced, shortNames: [], subresources: [], defaultPropagation: 'Background', hasStatus: false, ...extra };
}

function review(group: string, version: string, kind: string, namespaced = false): ResourceType {
  return { ...stored(group, version, kind, namespaced), createOnly: true };
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'], defaultPropagation: 'Background', hasStatus: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], subresources: ['status', 'log'], defaultPropagation: 'Background', hasStatus: true, categories: ['all'] },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true, shortNames: [], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'], subresources: ['token'], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], subresources: ['status'], defaultPropagation: 'Background', hasStatus: true, categories: ['all'] },
  { group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', namespaced: true, shortNames: ['pvc'], subresources: ['status'], defaultPropagation: 'Background', hasStatus: true },
  { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', singular: 'job', namespaced: true, shortNames: [], subresources: ['status'], defaultPropagation: 'Orphan', hasStatus: true, categories: ['all'] },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true, shortNames: [], subresources: [], defaultPropagation: 'Background', hasStatus: false, unconditionalUpdate: false },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', singular: 'mutatingwebhookconfiguration', namespaced: false, shortNames: [], subresources: [], defaultPropagation: 'Background', hasStatus: false, categories: ['api-extensions'] },
  stored(RBAC_GROUP, 'v1', 'Role', true),
  stored(RBAC_GROUP, 'v1', 'RoleBinding', true),
  stored(RBAC_GROUP, 'v1', 'ClusterRole', false),
  stored(RBAC_GROUP, 'v1', 'ClusterRoleBinding', false),
  // Stored only (no controller runs them): what manifests install beside their Roles.
  stored('apps', 'v1', 'Deployment', true, { shortNames: ['deploy'], subresources: ['status'], hasStatus: true, categories: ['all'] }),
  stored('policy', 'v1', 'PodDisruptionBudget', true, { plural: 'poddisruptionbudgets', shortNames: ['pdb'], subresources: ['status'], hasStatus: true }),
  stored('networking.k8s.io', 'v1', 'NetworkPolicy', true, { plural: 'networkpolicies', shortNames: ['netpol'] }),
  review('authentication.k8s.io', 'v1', 'TokenReview'),
  review('authentication.k8s.io', 'v1', 'SelfSubjectReview'),
  // kubectl 1.27 asks v1beta1 for `auth whoami`.
  review('authentication.k8s.io', 'v1beta1', 'SelfSubjectReview'),
  review('authorization.k8s.io', 'v1', 'SubjectAccessReview'),
  review('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview'),
  review('authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', true),
  review('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview'),
];

/** The verbs a resource type serves (discovery and routing). */
export function verbsOf(type: ResourceType): string[] {
  return type.createOnly ? CREATE_ONLY : VERBS;
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** Key for maps of per-resource data: `jobs.batch`, `pods`. */
export function resourceKey(type: ResourceType): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural;
}

export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function findKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

export function groupVersions(): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCE_TYPES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

export const POD = RESOURCE_TYPES.find((r) => r.kind === 'Pod')!;
export const JOB = RESOURCE_TYPES.find((r) => r.kind === 'Job')!;
export const EVENT = RESOURCE_TYPES.find((r) => r.kind === 'Event')!;
export const NAMESPACE = RESOURCE_TYPES.find((r) => r.kind === 'Namespace')!;
export const SECRET = RESOURCE_TYPES.find((r) => r.kind === 'Secret')!;
export const CONFIG_MAP = RESOURCE_TYPES.find((r) => r.kind === 'ConfigMap')!;
export const SERVICE = RESOURCE_TYPES.find((r) => r.kind === 'Service')!;
export const SERVICE_ACCOUNT = RESOURCE_TYPES.find((r) => r.kind === 'ServiceAccount')!;
export const ROLE = RESOURCE_TYPES.find((r) => r.kind === 'Role')!;
export const ROLE_BINDING = RESOURCE_TYPES.find((r) => r.kind === 'RoleBinding')!;
export const CLUSTER_ROLE = RESOURCE_TYPES.find((r) => r.kind === 'ClusterRole')!;
export const CLUSTER_ROLE_BINDING = RESOURCE_TYPES.find((r) => r.kind === 'ClusterRoleBinding')!;
export const MUTATING_WEBHOOK_CONFIGURATION = RESOURCE_TYPES.find((r) => r.kind === 'MutatingWebhookConfiguration')!;
