/**
 * The RBAC registry's validation (422 Invalid causes): rules that name what
 * they cover, bindings whose roleRef and subjects are well-formed, and a
 * roleRef that never changes once bound.
 */
import type { StatusCause } from '../api-server/errors.js';
import { isRecord, type KubeObject } from '../api-server/types.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

function ruleCauses(obj: KubeObject, namespaced: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const rules = Array.isArray(obj.rules) ? obj.rules : [];
  rules.forEach((rule: unknown, i) => {
    const at = `rules[${i}]`;
    if (!isRecord(rule)) return;
    if (!nonEmpty(rule.verbs)) causes.push({ reason: 'FieldValueRequired', field: `${at}.verbs`, message: 'Required value: verbs must contain at least one value' });
    if (nonEmpty(rule.nonResourceURLs)) {
      if (namespaced) {
        causes.push({ reason: 'FieldValueInvalid', field: `${at}.nonResourceURLs`, message: `Invalid value: ${JSON.stringify(rule.nonResourceURLs)}: namespaced rules cannot apply to non-resource URLs` });
      } else if (nonEmpty(rule.apiGroups) || nonEmpty(rule.resources) || nonEmpty(rule.resourceNames)) {
        causes.push({ reason: 'FieldValueInvalid', field: `${at}.nonResourceURLs`, message: `Invalid value: ${JSON.stringify(rule.nonResourceURLs)}: rules cannot apply to both regular resources and non-resource URLs` });
      }
      return;
    }
    if (!nonEmpty(rule.apiGroups)) causes.push({ reason: 'FieldValueRequired', field: `${at}.apiGroups`, message: 'Required value: resource rules must supply at least one api group' });
    if (!nonEmpty(rule.resources)) causes.push({ reason: 'FieldValueRequired', field: `${at}.resources`, message: 'Required value: resource rules must supply at least one resource' });
  });
  return causes;
}

function bindingCauses(obj: KubeObject, namespaced: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  const ref = isRecord(obj.roleRef) ? obj.roleRef : {};
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (ref.apiGroup !== RBAC_GROUP) causes.push({ reason: 'FieldValueNotSupported', field: 'roleRef.apiGroup', message: `Unsupported value: "${String(ref.apiGroup ?? '')}": supported values: "${RBAC_GROUP}"` });
  if (!kinds.includes(String(ref.kind))) causes.push({ reason: 'FieldValueNotSupported', field: 'roleRef.kind', message: `Unsupported value: "${String(ref.kind ?? '')}": supported values: ${kinds.map((k) => `"${k}"`).join(', ')}` });
  if (typeof ref.name !== 'string' || ref.name === '') causes.push({ reason: 'FieldValueRequired', field: 'roleRef.name', message: 'Required value' });
  const subjects = Array.isArray(obj.subjects) ? obj.subjects : [];
  subjects.forEach((subject: unknown, i) => {
    const at = `subjects[${i}]`;
    if (!isRecord(subject)) return;
    if (typeof subject.name !== 'string' || subject.name === '') causes.push({ reason: 'FieldValueRequired', field: `${at}.name`, message: 'Required value' });
    switch (subject.kind) {
      case 'ServiceAccount':
        if (subject.apiGroup !== undefined && subject.apiGroup !== '') causes.push({ reason: 'FieldValueNotSupported', field: `${at}.apiGroup`, message: `Unsupported value: "${String(subject.apiGroup)}": supported values: ""` });
        if (!namespaced && !subject.namespace) causes.push({ reason: 'FieldValueRequired', field: `${at}.namespace`, message: 'Required value' });
        break;
      case 'User':
      case 'Group':
        if (subject.apiGroup !== RBAC_GROUP) causes.push({ reason: 'FieldValueNotSupported', field: `${at}.apiGroup`, message: `Unsupported value: "${String(subject.apiGroup ?? '')}": supported values: "${RBAC_GROUP}"` });
        break;
      default:
        causes.push({ reason: 'FieldValueNotSupported', field: `${at}.kind`, message: `Unsupported value: "${String(subject.kind ?? '')}": supported values: "ServiceAccount", "User", "Group"` });
    }
  });
  return causes;
}

/** Causes for Roles, ClusterRoles and their bindings; none for other kinds. */
export function rbacCauses(obj: KubeObject, previous?: KubeObject): StatusCause[] {
  switch (obj.kind) {
    case 'Role':
      return ruleCauses(obj, true);
    case 'ClusterRole':
      return ruleCauses(obj, false);
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const causes = bindingCauses(obj, obj.kind === 'RoleBinding');
      if (previous && JSON.stringify(previous.roleRef) !== JSON.stringify(obj.roleRef)) {
        causes.push({ reason: 'FieldValueInvalid', field: 'roleRef', message: `Invalid value: ${JSON.stringify(obj.roleRef)}: cannot change roleRef` });
      }
      return causes;
    }
    default:
      return [];
  }
}
