/**
 * Validation on create and update. Field types come from the Kubernetes
 * OpenAPI schemas compiled by kubernetes-models (no hand-written schema
 * copies); the semantic rules the real server adds on top (names, required
 * containers, immutable fields, finalizers during deletion) are below.
 */
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Event } from 'kubernetes-models/v1/Event';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { rbacCauses } from '../auth/rbac-validation.js';
import { kindCauses } from './kind-validation.js';
import { badRequest, invalid, type ApiError, type StatusCause } from './errors.js';
import { isRecord, type KubeObject } from './types.js';
import type { ResourceType } from './resources.js';

interface Validatable {
  validate(): void;
}
type ModelConstructor = new (data: never) => Validatable;

const MODELS: Record<string, ModelConstructor> = {
  ConfigMap: ConfigMap as unknown as ModelConstructor,
  Event: Event as unknown as ModelConstructor,
  Namespace: Namespace as unknown as ModelConstructor,
  PersistentVolumeClaim: PersistentVolumeClaim as unknown as ModelConstructor,
  Pod: Pod as unknown as ModelConstructor,
  Secret: Secret as unknown as ModelConstructor,
  Service: Service as unknown as ModelConstructor,
  ServiceAccount: ServiceAccount as unknown as ModelConstructor,
  Job: Job as unknown as ModelConstructor,
  Lease: Lease as unknown as ModelConstructor,
  MutatingWebhookConfiguration: MutatingWebhookConfiguration as unknown as ModelConstructor,
  Role: Role as unknown as ModelConstructor,
  RoleBinding: RoleBinding as unknown as ModelConstructor,
  ClusterRole: ClusterRole as unknown as ModelConstructor,
  ClusterRoleBinding: ClusterRoleBinding as unknown as ModelConstructor,
  Deployment: Deployment as unknown as ModelConstructor,
  PodDisruptionBudget: PodDisruptionBudget as unknown as ModelConstructor,
  NetworkPolicy: NetworkPolicy as unknown as ModelConstructor,
};

interface SchemaError {
  instancePath: string;
  message?: string;
}

function hasSchemaErrors(error: unknown): error is { errors: SchemaError[] } {
  return isRecord(error) && Array.isArray(error.errors);
}

function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

/** Schema (type) errors: the real server fails to decode such bodies, a 400. */
export function checkSchema(obj: KubeObject): ApiError | undefined {
  const Model = MODELS[obj.kind];
  if (!Model) return undefined;
  try {
    new Model(obj as never).validate();
    return undefined;
  } catch (error) {
    if (!hasSchemaErrors(error)) throw error;
    const problems = error.errors.map((e) => `${fieldPath(e.instancePath) || '<root>'}: ${e.message ?? 'invalid'}`);
    return badRequest(
      `${obj.kind} in version "${obj.apiVersion.split('/').pop()}" cannot be handled as a ${obj.kind}: ${problems.join('; ')}`,
    );
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function nameCauses(type: ResourceType, name: string | undefined): StatusCause[] {
  if (!name) return [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }];
  // Job names become label values of their pods, hence the label length limit.
  if (type.group === 'rbac.authorization.k8s.io') {
    // RBAC names are path segments (system:discovery is one), not DNS subdomains.
    if (name === '.' || name === '..' || /[/%]/.test(name)) {
      return [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": may not be '.' or '..' and may not contain '/' or '%'` }];
    }
    return [];
  }
  const maxLength = type.kind === 'Job' || type.kind === 'Namespace' || type.kind === 'Service' ? 63 : 253;
  const pattern = type.kind === 'Namespace' || type.kind === 'Service' ? DNS_LABEL : DNS_SUBDOMAIN;
  if (name.length > maxLength || !pattern.test(name)) {
    return [
      {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 ${pattern === DNS_LABEL ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (at most ${maxLength} characters)`,
      },
    ];
  }
  return [];
}

function containerCauses(spec: unknown, prefix: string): StatusCause[] {
  if (!isRecord(spec)) return [{ reason: 'FieldValueRequired', field: prefix, message: 'Required value' }];
  const causes: StatusCause[] = [];
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: `${prefix}.containers`, message: 'Required value' });
  }
  const seen = new Set<string>();
  for (const list of ['initContainers', 'containers']) {
    const items = spec[list];
    if (!Array.isArray(items)) continue;
    items.forEach((c: unknown, i) => {
      const at = `${prefix}.${list}[${i}]`;
      if (!isRecord(c)) return;
      const name = c.name;
      if (typeof name !== 'string' || name === '') {
        causes.push({ reason: 'FieldValueRequired', field: `${at}.name`, message: 'Required value' });
      } else if (!DNS_LABEL.test(name) || name.length > 63) {
        causes.push({ reason: 'FieldValueInvalid', field: `${at}.name`, message: `Invalid value: "${name}": must be a valid RFC 1123 label` });
      } else if (seen.has(name)) {
        causes.push({ reason: 'FieldValueDuplicate', field: `${at}.name`, message: `Duplicate value: "${name}"` });
      } else seen.add(name);
      if (typeof c.image !== 'string' || c.image.trim() === '') {
        causes.push({ reason: 'FieldValueRequired', field: `${at}.image`, message: 'Required value' });
      }
    });
  }
  const restartPolicy = spec.restartPolicy;
  if (restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(String(restartPolicy))) {
    causes.push({ reason: 'FieldValueNotSupported', field: `${prefix}.restartPolicy`, message: `Unsupported value: "${String(restartPolicy)}": supported values: "Always", "OnFailure", "Never"` });
  }
  return causes;
}

function jobCauses(obj: KubeObject): StatusCause[] {
  const spec = obj.spec;
  if (!isRecord(spec)) return [{ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' }];
  const template = spec.template;
  const causes = containerCauses(isRecord(template) ? template.spec : undefined, 'spec.template.spec');
  const restartPolicy = isRecord(template) && isRecord(template.spec) ? template.spec.restartPolicy : undefined;
  if (restartPolicy === 'Always') {
    causes.push({ reason: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', message: 'Unsupported value: "Always": supported values: "OnFailure", "Never"' });
  }
  for (const field of ['backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished', 'parallelism', 'completions']) {
    const value = spec[field];
    if (typeof value === 'number' && (value < 0 || (field === 'activeDeadlineSeconds' && value === 0))) {
      causes.push({ reason: 'FieldValueInvalid', field: `spec.${field}`, message: `Invalid value: ${value}: must be greater than ${field === 'activeDeadlineSeconds' ? '0' : 'or equal to 0'}` });
    }
  }
  return causes;
}

/** Semantic validation of a new object (422 Invalid). */
export function validateCreate(type: ResourceType, obj: KubeObject): ApiError | undefined {
  const causes = [...nameCauses(type, obj.metadata.name)];
  if (obj.kind === 'Pod') causes.push(...containerCauses(obj.spec, 'spec'));
  if (obj.kind === 'Job') causes.push(...jobCauses(obj));
  causes.push(...rbacCauses(obj), ...kindCauses(obj));
  return causes.length ? invalid(type.kind, type.group, obj.metadata.name ?? '', causes) : undefined;
}

function changed(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}

function withoutMutablePodFields(spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  // The real server lets only images, activeDeadlineSeconds and added tolerations change.
  const strip = (list: unknown): unknown =>
    Array.isArray(list) ? list.map((c) => (isRecord(c) ? { ...c, image: undefined } : c)) : list;
  return {
    ...spec,
    containers: strip(spec.containers),
    initContainers: strip(spec.initContainers),
    activeDeadlineSeconds: undefined,
    tolerations: undefined,
    nodeName: undefined,
  };
}

/** Semantic validation of an update: immutable fields and finalizer rules. */
export function validateUpdate(type: ResourceType, next: KubeObject, previous: KubeObject): ApiError | undefined {
  const causes: StatusCause[] = [];
  if (next.metadata.uid !== previous.metadata.uid) {
    causes.push({ reason: 'FieldValueInvalid', field: 'metadata.uid', message: 'Invalid value: field is immutable' });
  }
  if (previous.metadata.deletionTimestamp) {
    const before = new Set(previous.metadata.finalizers ?? []);
    const added = (next.metadata.finalizers ?? []).filter((f) => !before.has(f));
    if (added.length) {
      causes.push({ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => `"${f}"`).join(', ')}}` });
    }
  }
  if (type.kind === 'Job' && isRecord(next.spec) && isRecord(previous.spec)) {
    if (changed(next.spec.template, previous.spec.template)) {
      causes.push({ reason: 'FieldValueInvalid', field: 'spec.template', message: 'Invalid value: field is immutable' });
    }
    if (changed(next.spec.selector, previous.spec.selector)) {
      causes.push({ reason: 'FieldValueInvalid', field: 'spec.selector', message: 'Invalid value: field is immutable' });
    }
    if (changed(next.spec.completions, previous.spec.completions)) {
      causes.push({ reason: 'FieldValueInvalid', field: 'spec.completions', message: 'Invalid value: field is immutable' });
    }
  }
  if (type.kind === 'Pod' && changed(withoutMutablePodFields(next.spec), withoutMutablePodFields(previous.spec))) {
    causes.push({ reason: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations)' });
  }
  if (type.kind === 'Job') causes.push(...jobCauses(next));
  causes.push(...rbacCauses(next, previous), ...kindCauses(next, previous));
  return causes.length ? invalid(type.kind, type.group, next.metadata.name ?? '', causes) : undefined;
}
