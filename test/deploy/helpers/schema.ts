/**
 * Checking rendered objects against the Kubernetes schemas: the OpenAPI
 * schemas shipped in kubernetes-models (types, formats, required fields),
 * plus unknown field names found with the attribute maps of
 * @kubernetes/client-node (kubernetes-models' schemas allow extra fields,
 * and a misspelt field would be silently dropped by the API server).
 *
 * cert-manager's kinds have no models installed here, so their shape is
 * checked by hand, minimally.
 */
import * as k8s from '@kubernetes/client-node';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { KubeObject } from './manifests.js';

interface Validatable {
  validate(): void;
}

interface KindSchema {
  /** The kubernetes-models class, holding the data until validate() checks it. */
  model: (data: KubeObject) => Validatable;
  /** The @kubernetes/client-node model whose attribute map lists the known fields. */
  clientType: string;
}

// The models take their own typed data; the objects here come from YAML, which is what validate() is for.
const asData = <T>(o: KubeObject): T => o as unknown as T;

export const SCHEMAS: Readonly<Record<string, KindSchema>> = {
  'v1/Namespace': { model: (o) => new Namespace(asData(o)), clientType: 'V1Namespace' },
  'v1/ServiceAccount': { model: (o) => new ServiceAccount(asData(o)), clientType: 'V1ServiceAccount' },
  'v1/Secret': { model: (o) => new Secret(asData(o)), clientType: 'V1Secret' },
  'v1/ConfigMap': { model: (o) => new ConfigMap(asData(o)), clientType: 'V1ConfigMap' },
  'v1/Service': { model: (o) => new Service(asData(o)), clientType: 'V1Service' },
  'apps/v1/Deployment': { model: (o) => new Deployment(asData(o)), clientType: 'V1Deployment' },
  'batch/v1/Job': { model: (o) => new Job(asData(o)), clientType: 'V1Job' },
  'policy/v1/PodDisruptionBudget': { model: (o) => new PodDisruptionBudget(asData(o)), clientType: 'V1PodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { model: (o) => new NetworkPolicy(asData(o)), clientType: 'V1NetworkPolicy' },
  'rbac.authorization.k8s.io/v1/Role': { model: (o) => new Role(asData(o)), clientType: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: (o) => new RoleBinding(asData(o)), clientType: 'V1RoleBinding' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: (o) => new ClusterRole(asData(o)), clientType: 'V1ClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: (o) => new ClusterRoleBinding(asData(o)), clientType: 'V1ClusterRoleBinding' },
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': {
    model: (o) => new MutatingWebhookConfiguration(asData(o)),
    clientType: 'V1MutatingWebhookConfiguration',
  },
};

interface Attribute {
  baseName: string;
  type: string;
}

/** Types that carry no field list: scalars, maps and the int-or-string union. */
const OPAQUE_TYPES = /^(string|number|boolean|Date|object|any|IntOrString|\{ \[key: string\]: .*\})$/;

function attributesOf(typeName: string): readonly Attribute[] | undefined {
  const model: unknown = (k8s as Record<string, unknown>)[typeName];
  if (typeof model !== 'function' || !('attributeTypeMap' in model)) return undefined;
  const map: unknown = model.attributeTypeMap;
  return Array.isArray(map) ? (map as Attribute[]) : undefined;
}

function unknownFields(value: unknown, typeName: string, at: string, out: string[]): void {
  const list = /^Array<(.+)>$/.exec(typeName);
  if (list) {
    if (Array.isArray(value)) value.forEach((item, i) => unknownFields(item, list[1]!, `${at}[${i}]`, out));
    return;
  }
  if (OPAQUE_TYPES.test(typeName)) return;
  const attributes = attributesOf(typeName);
  if (!attributes) {
    out.push(`${at}: no field list for type ${typeName}`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const attribute = attributes.find((a) => a.baseName === key);
    if (attribute) unknownFields(child, attribute.type, `${at}.${key}`, out);
    else out.push(`${at}.${key}: unknown field`);
  }
}

function schemaErrors(model: Validatable): string[] {
  try {
    model.validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    if (!Array.isArray(errors)) throw error;
    return errors.map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`);
  }
}

const DURATION = /^(\d+h)?(\d+m)?(\d+s)?$/;
const CERTIFICATE_SPEC_FIELDS = new Set([
  'secretName', 'dnsNames', 'ipAddresses', 'uris', 'emailAddresses', 'commonName', 'duration', 'renewBefore',
  'renewBeforePercentage', 'privateKey', 'issuerRef', 'usages', 'isCA', 'subject', 'secretTemplate',
  'revisionHistoryLimit', 'additionalOutputFormats', 'encodeUsagesInRequest', 'keystores', 'literalSubject',
  'nameConstraints', 'otherNames',
]);
const ISSUER_TYPES = ['selfSigned', 'ca', 'acme', 'vault', 'venafi'];

/** cert-manager.io/v1 Issuer and Certificate: the fields this deployment uses, with their types. */
function certManagerProblems(o: KubeObject): string[] {
  const problems: string[] = [];
  const spec = o.spec as Record<string, unknown> | undefined;
  if (typeof spec !== 'object' || spec === null) return ['spec: missing'];
  if (o.kind === 'Issuer') {
    const types = Object.keys(spec).filter((k) => ISSUER_TYPES.includes(k));
    if (types.length !== 1 || Object.keys(spec).length !== 1) problems.push(`spec: exactly one of ${ISSUER_TYPES.join(', ')} expected, got ${Object.keys(spec).join(', ')}`);
    return problems;
  }
  if (o.kind !== 'Certificate') return [`no schema for cert-manager kind ${o.kind}`];
  for (const key of Object.keys(spec)) if (!CERTIFICATE_SPEC_FIELDS.has(key)) problems.push(`spec.${key}: unknown field`);
  if (typeof spec.secretName !== 'string' || spec.secretName === '') problems.push('spec.secretName: required string');
  const dnsNames = spec.dnsNames;
  if (!Array.isArray(dnsNames) || dnsNames.length === 0 || !dnsNames.every((n) => typeof n === 'string' && /^[a-z0-9.-]+$/.test(n))) {
    problems.push('spec.dnsNames: non-empty list of DNS names expected');
  }
  for (const key of ['duration', 'renewBefore'] as const) {
    if (spec[key] !== undefined && !(typeof spec[key] === 'string' && DURATION.test(spec[key]) && spec[key] !== '')) problems.push(`spec.${key}: a duration such as 2160h expected`);
  }
  const issuerRef = spec.issuerRef as Record<string, unknown> | undefined;
  if (typeof issuerRef?.name !== 'string' || !['Issuer', 'ClusterIssuer'].includes(String(issuerRef.kind))) {
    problems.push('spec.issuerRef: {name, kind: Issuer|ClusterIssuer} expected');
  }
  const privateKey = spec.privateKey as Record<string, unknown> | undefined;
  if (privateKey !== undefined) {
    if (!['RSA', 'ECDSA', 'Ed25519'].includes(String(privateKey.algorithm))) problems.push('spec.privateKey.algorithm: RSA, ECDSA or Ed25519 expected');
    if (privateKey.rotationPolicy !== undefined && !['Never', 'Always'].includes(String(privateKey.rotationPolicy))) problems.push('spec.privateKey.rotationPolicy: Never or Always expected');
    if (privateKey.size !== undefined && typeof privateKey.size !== 'number') problems.push('spec.privateKey.size: number expected');
  }
  return problems;
}

/** Everything wrong with one object's shape; empty when it is valid. */
export function schemaProblems(o: KubeObject): string[] {
  if (o.apiVersion === 'cert-manager.io/v1') return certManagerProblems(o);
  const schema = SCHEMAS[`${o.apiVersion}/${o.kind}`];
  if (!schema) return [`no schema for ${o.apiVersion} ${o.kind}`];
  const unknown: string[] = [];
  unknownFields(o, schema.clientType, o.kind, unknown);
  return [...schemaErrors(schema.model(o)), ...unknown];
}
