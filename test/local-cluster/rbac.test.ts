/**
 * The RBAC evaluator, table-driven: which bindings apply to whom, and which
 * rules cover which request — the semantics of the real RBAC authorizer.
 */
import t from 'tap';
import { authorize, forbiddenMessage, ruleAllows, subjectMatches, type Attributes, type PolicyRule, type RbacPolicy, type UserInfo } from '../../local-cluster/auth/rbac.js';
import { rbacCauses } from '../../local-cluster/auth/rbac-validation.js';
import type { KubeObject } from '../../local-cluster/api-server/types.js';

const sa = (ns: string, name: string): UserInfo => ({
  username: `system:serviceaccount:${ns}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
});
const alice: UserInfo = { username: 'alice', groups: ['dev', 'system:authenticated'] };
const res = (user: UserInfo, verb: string, resource: string, more: Partial<Extract<Attributes, { resourceRequest: true }>> = {}): Attributes => ({
  user,
  resourceRequest: true,
  verb,
  apiGroup: '',
  resource,
  ...more,
});
const path = (user: UserInfo, verb: string, p: string): Attributes => ({ user, resourceRequest: false, verb, path: p });

t.test('ruleAllows: verbs, groups, resources, subresources, names and URLs', async (t) => {
  const cases: Array<[string, PolicyRule, Attributes, boolean]> = [
    ['exact verb and resource', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res(alice, 'get', 'pods'), true],
    ['other verb', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res(alice, 'list', 'pods'), false],
    ['verb *', { verbs: ['*'], apiGroups: [''], resources: ['pods'] }, res(alice, 'delete', 'pods'), true],
    ['other group', { verbs: ['get'], apiGroups: ['batch'], resources: ['pods'] }, res(alice, 'get', 'pods'), false],
    ['group *', { verbs: ['get'], apiGroups: ['*'], resources: ['jobs'] }, res(alice, 'get', 'jobs', { apiGroup: 'batch' }), true],
    ['no apiGroups matches nothing', { verbs: ['get'], resources: ['pods'] }, res(alice, 'get', 'pods'), false],
    ['resource * covers subresources', { verbs: ['get'], apiGroups: [''], resources: ['*'] }, res(alice, 'get', 'pods', { subresource: 'log' }), true],
    ['pods does not cover pods/log', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, res(alice, 'get', 'pods', { subresource: 'log' }), false],
    ['pods/log covers the subresource', { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, res(alice, 'get', 'pods', { subresource: 'log' }), true],
    ['pods/log does not cover pods', { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }, res(alice, 'get', 'pods'), false],
    ['*/status covers every status', { verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] }, res(alice, 'update', 'jobs', { apiGroup: 'batch', subresource: 'status' }), true],
    ['*/status does not cover the main resource', { verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] }, res(alice, 'update', 'jobs', { apiGroup: 'batch' }), false],
    ['resourceNames match the name', { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] }, res(alice, 'get', 'secrets', { name: 'tls' }), true],
    ['resourceNames reject other names', { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] }, res(alice, 'get', 'secrets', { name: 'db' }), false],
    ['resourceNames never cover a list', { verbs: ['list'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] }, res(alice, 'list', 'secrets'), false],
    ['resourceNames never cover a create', { verbs: ['create'], apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'] }, res(alice, 'create', 'secrets'), false],
    ['a resource rule does not cover a URL', { verbs: ['get'], apiGroups: ['*'], resources: ['*'] }, path(alice, 'get', '/healthz'), false],
    ['exact URL', { verbs: ['get'], nonResourceURLs: ['/healthz'] }, path(alice, 'get', '/healthz'), true],
    ['URL prefix with *', { verbs: ['get'], nonResourceURLs: ['/apis/*'] }, path(alice, 'get', '/apis/batch/v1'), true],
    ['URL prefix without * is exact', { verbs: ['get'], nonResourceURLs: ['/apis'] }, path(alice, 'get', '/apis/batch'), false],
    ['URL *', { verbs: ['get'], nonResourceURLs: ['*'] }, path(alice, 'get', '/metrics'), true],
    ['URL rule does not cover a resource', { verbs: ['get'], nonResourceURLs: ['*'] }, res(alice, 'get', 'pods'), false],
  ];
  for (const [what, rule, attributes, expected] of cases) t.equal(ruleAllows(attributes, rule), expected, what);
});

t.test('subjectMatches: users, groups and service accounts', async (t) => {
  const bot = sa('jobs', 'bot');
  const cases: Array<[string, { kind: string; name: string; namespace?: string }, UserInfo, string | undefined, boolean]> = [
    ['user by name', { kind: 'User', name: 'alice' }, alice, undefined, true],
    ['other user', { kind: 'User', name: 'bob' }, alice, undefined, false],
    ['group member', { kind: 'Group', name: 'dev' }, alice, undefined, true],
    ['not a member', { kind: 'Group', name: 'ops' }, alice, undefined, false],
    ['service account with namespace', { kind: 'ServiceAccount', name: 'bot', namespace: 'jobs' }, bot, undefined, true],
    ['service account of another namespace', { kind: 'ServiceAccount', name: 'bot', namespace: 'other' }, bot, undefined, false],
    ["RoleBinding's namespace completes the subject", { kind: 'ServiceAccount', name: 'bot' }, bot, 'jobs', true],
    ['no namespace anywhere: no match', { kind: 'ServiceAccount', name: 'bot' }, bot, undefined, false],
    ['all service accounts group', { kind: 'Group', name: 'system:serviceaccounts' }, bot, undefined, true],
    ["a namespace's service accounts", { kind: 'Group', name: 'system:serviceaccounts:jobs' }, bot, undefined, true],
    ['authenticated', { kind: 'Group', name: 'system:authenticated' }, bot, undefined, true],
    ['a User subject does not name a service account by its short name', { kind: 'User', name: 'bot' }, bot, undefined, false],
    ['unknown kind', { kind: 'Robot', name: 'bot' }, bot, undefined, false],
  ];
  for (const [what, subject, user, ns, expected] of cases) t.equal(subjectMatches(subject, user, ns), expected, what);
});

const rbac = 'rbac.authorization.k8s.io';
const obj = (kind: string, name: string, namespace: string | undefined, body: Record<string, unknown>): KubeObject => ({
  apiVersion: `${rbac}/v1`,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  ...body,
});
const policy: RbacPolicy = {
  roles: [
    obj('Role', 'reader', 'jobs', { rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log'] }] }),
    obj('Role', 'reader', 'other', { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }] }),
  ],
  clusterRoles: [
    obj('ClusterRole', 'job-editor', undefined, { rules: [{ verbs: ['create', 'delete'], apiGroups: ['batch'], resources: ['jobs'] }] }),
    obj('ClusterRole', 'node-reader', undefined, { rules: [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }] }),
  ],
  roleBindings: [
    obj('RoleBinding', 'bot-reads', 'jobs', { roleRef: { apiGroup: rbac, kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'bot' }] }),
    obj('RoleBinding', 'bot-edits-jobs', 'jobs', { roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'job-editor' }, subjects: [{ kind: 'ServiceAccount', name: 'bot', namespace: 'jobs' }] }),
    obj('RoleBinding', 'dangling', 'jobs', { roleRef: { apiGroup: rbac, kind: 'Role', name: 'missing' }, subjects: [{ kind: 'Group', name: 'system:authenticated' }] }),
  ],
  clusterRoleBindings: [
    obj('ClusterRoleBinding', 'devs-read-nodes', undefined, { roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'node-reader' }, subjects: [{ apiGroup: rbac, kind: 'Group', name: 'dev' }] }),
  ],
};

t.test('authorize: bindings apply in their scope only', async (t) => {
  const bot = sa('jobs', 'bot');
  const cases: Array<[string, Attributes, boolean]> = [
    ['a RoleBinding grants its Role in its namespace', res(bot, 'list', 'pods', { namespace: 'jobs' }), true],
    ['the log subresource named in the Role', res(bot, 'get', 'pods', { namespace: 'jobs', subresource: 'log', name: 'p' }), true],
    ['a verb the Role lacks', res(bot, 'delete', 'pods', { namespace: 'jobs', name: 'p' }), false],
    ['the same Role name elsewhere is not bound', res(bot, 'list', 'pods', { namespace: 'other' }), false],
    ['a RoleBinding never grants at cluster scope', res(bot, 'list', 'pods'), false],
    ['a ClusterRole bound by a RoleBinding, in that namespace', res(bot, 'create', 'jobs', { apiGroup: 'batch', namespace: 'jobs' }), true],
    ['… but not in another', res(bot, 'create', 'jobs', { apiGroup: 'batch', namespace: 'default' }), false],
    ['a ClusterRoleBinding grants everywhere', res(alice, 'get', 'nodes', { name: 'n1' }), true],
    ['a ClusterRoleBinding grants in namespaces too', res(alice, 'get', 'nodes', { namespace: 'x', name: 'n1' }), true],
    ['nothing for an unbound user', res(sa('jobs', 'other'), 'list', 'pods', { namespace: 'jobs' }), false],
    ['system:masters may do anything', res({ username: 'admin', groups: ['system:masters'] }, 'delete', 'nodes'), true],
    ['a binding to a missing Role grants nothing', res(alice, 'get', 'secrets', { namespace: 'jobs' }), false],
  ];
  for (const [what, attributes, expected] of cases) t.equal(authorize(policy, attributes).allowed, expected, what);
  t.equal(
    authorize(policy, res(bot, 'list', 'pods', { namespace: 'jobs' })).reason,
    'RBAC: allowed by RoleBinding "bot-reads/jobs" of Role "reader" to ServiceAccount "bot/jobs"',
    'the reason names the binding, as SubjectAccessReview reports it',
  );
});

t.test('forbidden messages as the real server words them', async (t) => {
  t.equal(forbiddenMessage(res(alice, 'list', 'pods', { namespace: 'ns' })), 'User "alice" cannot list resource "pods" in API group "" in the namespace "ns"');
  t.equal(forbiddenMessage(res(alice, 'get', 'pods', { subresource: 'log', namespace: 'ns' })), 'User "alice" cannot get resource "pods/log" in API group "" in the namespace "ns"');
  t.equal(forbiddenMessage(res(alice, 'list', 'clusterroles', { apiGroup: rbac })), `User "alice" cannot list resource "clusterroles" in API group "${rbac}" at the cluster scope`);
  t.equal(forbiddenMessage(path(alice, 'get', '/metrics')), 'User "alice" cannot get path "/metrics"');
});

t.test('RBAC objects are validated as the real registry does', async (t) => {
  const causes = (o: KubeObject, previous?: KubeObject) => rbacCauses(o, previous).map((c) => c.field);
  t.same(causes(obj('Role', 'r', 'ns', { rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] })), [], 'a good Role');
  t.same(causes(obj('Role', 'r', 'ns', { rules: [{ apiGroups: [''], resources: ['pods'] }] })), ['rules[0].verbs'], 'verbs are required');
  t.same(causes(obj('Role', 'r', 'ns', { rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }] })), ['rules[0].nonResourceURLs'], 'a Role cannot name URLs');
  t.same(causes(obj('ClusterRole', 'r', undefined, { rules: [{ verbs: ['get'], nonResourceURLs: ['/x'] }] })), [], 'a ClusterRole can');
  t.same(causes(obj('ClusterRole', 'r', undefined, { rules: [{ verbs: ['get'], resources: ['pods'] }] })), ['rules[0].apiGroups'], 'resource rules need groups');
  t.same(causes(obj('ClusterRole', 'r', undefined, { rules: [{ verbs: ['get'], apiGroups: [''] }] })), ['rules[0].resources'], 'and resources');
  const ref = { apiGroup: rbac, kind: 'Role', name: 'r' };
  t.same(causes(obj('RoleBinding', 'b', 'ns', { roleRef: ref, subjects: [{ kind: 'ServiceAccount', name: 'bot' }] })), [], 'a RoleBinding may leave the SA namespace out');
  t.same(causes(obj('ClusterRoleBinding', 'b', undefined, { roleRef: { ...ref, kind: 'ClusterRole' }, subjects: [{ kind: 'ServiceAccount', name: 'bot' }] })), ['subjects[0].namespace'], 'a ClusterRoleBinding may not');
  t.same(causes(obj('ClusterRoleBinding', 'b', undefined, { roleRef: ref, subjects: [] })), ['roleRef.kind'], 'a ClusterRoleBinding binds ClusterRoles only');
  t.same(causes(obj('RoleBinding', 'b', 'ns', { roleRef: ref, subjects: [{ kind: 'User', name: 'alice' }] })), ['subjects[0].apiGroup'], 'User subjects carry the RBAC group');
  t.same(causes(obj('RoleBinding', 'b', 'ns', { roleRef: ref, subjects: [{ kind: 'Robot', name: 'x' }] })), ['subjects[0].kind'], 'unknown subject kinds are refused');
  t.same(causes(obj('RoleBinding', 'b', 'ns', { roleRef: {}, subjects: [] })), ['roleRef.apiGroup', 'roleRef.kind', 'roleRef.name'], 'roleRef is required');
  const bound = obj('RoleBinding', 'b', 'ns', { roleRef: ref, subjects: [] });
  t.same(causes(obj('RoleBinding', 'b', 'ns', { roleRef: { ...ref, name: 'other' }, subjects: [] }), bound), ['roleRef'], 'roleRef cannot change');
});
