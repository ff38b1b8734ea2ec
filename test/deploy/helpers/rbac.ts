/**
 * Kubernetes RBAC authorisation, as the API server decides it, over the
 * rendered manifests: which rules reach a ServiceAccount (through
 * RoleBindings in a namespace, or ClusterRoleBindings everywhere), and
 * whether one of them allows a request.
 */
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { ofKind, type KubeObject } from './manifests.js';

/** One API request: `namespace` undefined for cluster-scoped objects; `name` for requests on a named object. */
export interface Access {
  group: string;
  /** Plural resource, with `/subresource` where there is one (pods/log). */
  resource: string;
  verb: string;
  namespace?: string;
  name?: string;
}

export interface GrantedRule {
  rule: V1PolicyRule;
  /** Namespace the rule applies in; undefined: every namespace and cluster-scoped objects. */
  namespace?: string;
  /** Role or ClusterRole it comes from, e.g. `Role/jobs/k8s-job-manager`. */
  from: string;
}

function listed(values: string[] | undefined, value: string): boolean {
  return (values ?? []).some((v) => v === '*' || v === value);
}

function resourceListed(resources: string[] | undefined, resource: string): boolean {
  const sub = resource.split('/', 2)[1];
  return (resources ?? []).some((r) => r === '*' || r === resource || (sub !== undefined && r === `*/${sub}`));
}

export function ruleAllows(rule: V1PolicyRule, access: Access): boolean {
  if (!listed(rule.verbs, access.verb) || !listed(rule.apiGroups, access.group) || !resourceListed(rule.resources, access.resource)) return false;
  // A rule with resourceNames only matches requests that name one of them.
  if (rule.resourceNames && rule.resourceNames.length > 0) return access.name !== undefined && rule.resourceNames.includes(access.name);
  return true;
}

function bindsServiceAccount(subjects: Array<{ kind: string; name: string; namespace?: string }> | undefined, namespace: string, name: string): boolean {
  return (subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === namespace);
}

/** Every rule that reaches the ServiceAccount, with where it applies. */
export function rulesOf(objects: KubeObject[], serviceAccount: { namespace: string; name: string }): GrantedRule[] {
  const roles = ofKind<V1Role>(objects, 'Role');
  const clusterRoles = ofKind<V1ClusterRole>(objects, 'ClusterRole');
  const granted: GrantedRule[] = [];
  const clusterRole = (name: string): V1ClusterRole | undefined => clusterRoles.find((r) => r.metadata?.name === name);
  for (const binding of ofKind<V1RoleBinding>(objects, 'RoleBinding')) {
    if (!bindsServiceAccount(binding.subjects, serviceAccount.namespace, serviceAccount.name)) continue;
    const namespace = binding.metadata?.namespace;
    const role =
      binding.roleRef.kind === 'Role'
        ? roles.find((r) => r.metadata?.name === binding.roleRef.name && r.metadata?.namespace === namespace)
        : clusterRole(binding.roleRef.name);
    if (!role || namespace === undefined) continue;
    for (const rule of role.rules ?? []) granted.push({ rule, namespace, from: `${binding.roleRef.kind}/${role.metadata?.namespace ?? ''}/${role.metadata?.name ?? ''}` });
  }
  for (const binding of ofKind<V1ClusterRoleBinding>(objects, 'ClusterRoleBinding')) {
    if (!bindsServiceAccount(binding.subjects, serviceAccount.namespace, serviceAccount.name)) continue;
    const role = clusterRole(binding.roleRef.name);
    for (const rule of role?.rules ?? []) granted.push({ rule, from: `ClusterRole/${role?.metadata?.name ?? ''}` });
  }
  return granted;
}

export function allows(granted: GrantedRule[], access: Access): GrantedRule | undefined {
  return granted.find((g) => (g.namespace === undefined || g.namespace === access.namespace) && ruleAllows(g.rule, access));
}

/** Every single permission a rule grants, one per group × resource × verb (× name). */
export function expandRule(rule: V1PolicyRule): Array<Omit<Access, 'namespace'>> {
  const out: Array<Omit<Access, 'namespace'>> = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        const names = rule.resourceNames && rule.resourceNames.length > 0 ? rule.resourceNames : [undefined];
        for (const name of names) out.push({ group, resource, verb, ...(name !== undefined ? { name } : {}) });
      }
    }
  }
  return out;
}
