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
  subresources: Array<'status' | 'log'>;
  /** Propagation policy when a delete names none (batch/v1 Jobs orphan, for backwards compatibility). */
  defaultPropagation: 'Background' | 'Orphan';
  /** Kinds whose status is only written through the status subresource. */
  hasStatus: boolean;
  categories?: string[];
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'], defaultPropagation: 'Background', hasStatus: true },
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], subresources: ['status', 'log'], defaultPropagation: 'Background', hasStatus: true, categories: ['all'] },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true, shortNames: [], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], subresources: ['status'], defaultPropagation: 'Background', hasStatus: true, categories: ['all'] },
  { group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', namespaced: true, shortNames: ['pvc'], subresources: ['status'], defaultPropagation: 'Background', hasStatus: true },
  { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', singular: 'job', namespaced: true, shortNames: [], subresources: ['status'], defaultPropagation: 'Orphan', hasStatus: true, categories: ['all'] },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true, shortNames: [], subresources: [], defaultPropagation: 'Background', hasStatus: false },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', singular: 'mutatingwebhookconfiguration', namespaced: false, shortNames: [], subresources: [], defaultPropagation: 'Background', hasStatus: false, categories: ['api-extensions'] },
];

export const SUPPORTED_VERBS = VERBS;

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
export const MUTATING_WEBHOOK_CONFIGURATION = RESOURCE_TYPES.find((r) => r.kind === 'MutatingWebhookConfiguration')!;
