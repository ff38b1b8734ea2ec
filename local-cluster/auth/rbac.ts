/**
 * The RBAC authorizer's decision, as a pure function of the request's
 * attributes and the Roles, ClusterRoles and their bindings: which bindings
 * apply to the user (User, Group and ServiceAccount subjects; RoleBindings
 * only in their own namespace), and whether one of their rules covers the
 * verb, API group, resource/subresource, resource name or non-resource URL.
 * The `system:masters` group is allowed everything before RBAC is asked, as
 * the real server's privileged-group authorizer does.
 */
import { isRecord, type KubeObject } from '../api-server/types.js';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type Attributes =
  | {
      user: UserInfo;
      resourceRequest: true;
      verb: string;
      apiGroup: string;
      resource: string;
      subresource?: string;
      name?: string;
      namespace?: string;
    }
  | { user: UserInfo; resourceRequest: false; verb: string; path: string };

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

/** What the authorizer reads: the objects as stored. */
export interface RbacPolicy {
  roles: KubeObject[];
  clusterRoles: KubeObject[];
  roleBindings: KubeObject[];
  clusterRoleBindings: KubeObject[];
}

export interface Decision {
  allowed: boolean;
  /** Which binding allowed it (SubjectAccessReview's status.reason). */
  reason: string;
}

export const SYSTEM_MASTERS = 'system:masters';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`;
}

function has(list: string[] | undefined, value: string): boolean {
  return Array.isArray(list) && list.includes(value);
}

function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, '*') || has(rule.verbs, verb);
}

function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return has(rule.apiGroups, '*') || has(rule.apiGroups, group);
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const ruleResource of rule.resources ?? []) {
    if (ruleResource === '*' || ruleResource === combined) return true;
    // `*/scale` covers the scale subresource of every resource.
    if (subresource && ruleResource === `*/${subresource}`) return true;
  }
  return false;
}

function resourceNameMatches(rule: PolicyRule, name: string | undefined): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (name !== undefined && name !== '' && names.includes(name));
}

function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  for (const url of rule.nonResourceURLs ?? []) {
    if (url === '*' || url === path) return true;
    if (url.endsWith('*') && path.startsWith(url.slice(0, -1))) return true;
  }
  return false;
}

/** rbac.RuleAllows */
export function ruleAllows(attributes: Attributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, attributes.verb)) return false;
  if (!attributes.resourceRequest) return nonResourceUrlMatches(rule, attributes.path);
  return (
    apiGroupMatches(rule, attributes.apiGroup) &&
    resourceMatches(rule, attributes.resource, attributes.subresource) &&
    resourceNameMatches(rule, attributes.name)
  );
}

/** Whether a binding's subject names this user; `bindingNamespace` completes ServiceAccount subjects of RoleBindings. */
export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace || bindingNamespace;
      return Boolean(namespace) && user.username === serviceAccountUsername(namespace!, subject.name);
    }
    default:
      return false;
  }
}

function rulesOf(role: KubeObject | undefined): PolicyRule[] {
  if (!role || !Array.isArray(role.rules)) return [];
  return role.rules.filter((r): r is PolicyRule => isRecord(r) && Array.isArray(r.verbs)) as PolicyRule[];
}

function subjectsOf(binding: KubeObject): Subject[] {
  return Array.isArray(binding.subjects) ? (binding.subjects.filter((s) => isRecord(s) && typeof s.kind === 'string' && typeof s.name === 'string') as Subject[]) : [];
}

function roleRefOf(binding: KubeObject): { kind: string; name: string } | undefined {
  const ref = binding.roleRef;
  return isRecord(ref) && typeof ref.kind === 'string' && typeof ref.name === 'string' ? { kind: ref.kind, name: ref.name } : undefined;
}

function describeSubject(subject: Subject, bindingNamespace: string | undefined): string {
  if (subject.kind === 'ServiceAccount') return `ServiceAccount "${subject.name}/${subject.namespace || bindingNamespace || ''}"`;
  return `${subject.kind} "${subject.name}"`;
}

/** Every rule that applies to the user in the namespace, with the binding it comes from (SelfSubjectRulesReview, authorize). */
export function* applicableRules(policy: RbacPolicy, user: UserInfo, namespace: string | undefined): Generator<{ rule: PolicyRule; source: string }> {
  const byName = (list: KubeObject[], name: string, ns?: string) =>
    list.find((o) => o.metadata.name === name && (ns === undefined || o.metadata.namespace === ns));
  for (const binding of policy.clusterRoleBindings) {
    const ref = roleRefOf(binding);
    const subject = subjectsOf(binding).find((s) => subjectMatches(s, user, undefined));
    if (!ref || !subject || ref.kind !== 'ClusterRole') continue;
    const source = `ClusterRoleBinding "${binding.metadata.name ?? ''}" of ClusterRole "${ref.name}" to ${describeSubject(subject, undefined)}`;
    for (const rule of rulesOf(byName(policy.clusterRoles, ref.name))) yield { rule, source };
  }
  if (!namespace) return;
  for (const binding of policy.roleBindings) {
    if (binding.metadata.namespace !== namespace) continue;
    const ref = roleRefOf(binding);
    const subject = subjectsOf(binding).find((s) => subjectMatches(s, user, namespace));
    if (!ref || !subject) continue;
    const role = ref.kind === 'ClusterRole' ? byName(policy.clusterRoles, ref.name) : ref.kind === 'Role' ? byName(policy.roles, ref.name, namespace) : undefined;
    const source = `RoleBinding "${binding.metadata.name ?? ''}/${namespace}" of ${ref.kind} "${ref.name}" to ${describeSubject(subject, namespace)}`;
    for (const rule of rulesOf(role)) yield { rule, source };
  }
}

export function authorize(policy: RbacPolicy, attributes: Attributes): Decision {
  if (attributes.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
  const namespace = attributes.resourceRequest ? attributes.namespace : undefined;
  for (const { rule, source } of applicableRules(policy, attributes.user, namespace)) {
    if (ruleAllows(attributes, rule)) return { allowed: true, reason: `RBAC: allowed by ${source}` };
  }
  return { allowed: false, reason: '' };
}

/** The Forbidden message of the real server: `User "u" cannot list resource "pods" in API group "" in the namespace "ns"`. */
export function forbiddenMessage(attributes: Attributes): string {
  const who = `User "${attributes.user.username}"`;
  if (!attributes.resourceRequest) return `${who} cannot ${attributes.verb} path "${attributes.path}"`;
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
  return `${who} cannot ${attributes.verb} resource "${resource}" in API group "${attributes.apiGroup}" ${scope}`;
}
