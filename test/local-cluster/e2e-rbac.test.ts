/**
 * Authentication and RBAC over HTTPS: ServiceAccount tokens from the
 * TokenRequest API, TokenReview, the access reviews, impersonation, and
 * enforcement — a client gets exactly what its Roles grant.
 */
import t from 'tap';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { apiFailure, rawRequest, serviceAccountKubeConfig, startEnforcingCluster, startTestCluster } from '../helpers/local-cluster.js';

const cluster = await startEnforcingCluster(t, { namespaces: ['jobs', 'other'] });
const admin = cluster.kubeConfig();
const adminCore = admin.makeApiClient(CoreV1Api);
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const RBAC = 'rbac.authorization.k8s.io';

t.test('the admin kubeconfig is cluster-admin; the bootstrap policy is served', async (t) => {
  const roles = await rbac.listClusterRole();
  t.ok(roles.items.some((r) => r.metadata?.name === 'cluster-admin'), 'cluster-admin exists');
  const bindings = await rbac.listClusterRoleBinding();
  const binding = bindings.items.find((b) => b.metadata?.name === 'cluster-admin');
  t.same(binding?.subjects?.map((s) => s.name), ['system:masters']);
  t.ok(await adminCore.listNamespacedSecret({ namespace: 'jobs' }), 'admin may list secrets');
});

t.test('a ServiceAccount gets what its Role grants and nothing else', async (t) => {
  const { kubeConfig } = await serviceAccountKubeConfig(cluster, 'jobs', 'reader');
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const before = await apiFailure(core.listNamespacedPod({ namespace: 'jobs' }));
  t.equal(before.httpCode, 403, 'no binding: forbidden');
  t.equal(before.status.reason, 'Forbidden');
  t.equal(before.status.message, 'pods is forbidden: User "system:serviceaccount:jobs:reader" cannot list resource "pods" in API group "" in the namespace "jobs"');
  t.same(before.status.details, { group: '', kind: 'pods' });

  await rbac.createNamespacedRole({
    namespace: 'jobs',
    body: {
      metadata: { name: 'reader' },
      rules: [
        { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: ['allowed'], verbs: ['get'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: 'jobs',
    body: { metadata: { name: 'reader' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader' }] },
  });
  t.ok(await core.listNamespacedPod({ namespace: 'jobs' }), 'bound: may list pods');
  t.equal((await apiFailure(core.listNamespacedPod({ namespace: 'other' }))).httpCode, 403, 'but only in its namespace');
  t.equal((await apiFailure(core.createNamespacedPod({ namespace: 'jobs', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } } }))).httpCode, 403, 'and not create');

  await adminCore.createNamespacedSecret({ namespace: 'jobs', body: { metadata: { name: 'allowed' }, stringData: { a: 'b' } } });
  await adminCore.createNamespacedSecret({ namespace: 'jobs', body: { metadata: { name: 'denied' }, stringData: { a: 'b' } } });
  t.ok(await core.readNamespacedSecret({ namespace: 'jobs', name: 'allowed' }), 'resourceNames: the named secret');
  const denied = await apiFailure(core.readNamespacedSecret({ namespace: 'jobs', name: 'denied' }));
  t.equal(denied.status.message, 'secrets "denied" is forbidden: User "system:serviceaccount:jobs:reader" cannot get resource "secrets" in API group "" in the namespace "jobs"');
  t.equal((await apiFailure(core.listNamespacedSecret({ namespace: 'jobs' }))).httpCode, 403, 'resourceNames never allow a list');
});

t.test('a list narrowed to one name by field selector is authorized as a get on that name', async (t) => {
  await rbac.createNamespacedRole({
    namespace: 'jobs',
    body: { metadata: { name: 'one-secret' }, rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['watched'], verbs: ['list', 'watch'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: 'jobs',
    body: { metadata: { name: 'one-secret' }, roleRef: { apiGroup: RBAC, kind: 'Role', name: 'one-secret' }, subjects: [{ kind: 'ServiceAccount', name: 'narrow', namespace: 'jobs' }] },
  });
  const { kubeConfig } = await serviceAccountKubeConfig(cluster, 'jobs', 'narrow');
  const core = kubeConfig.makeApiClient(CoreV1Api);
  t.ok(await core.listNamespacedSecret({ namespace: 'jobs', fieldSelector: 'metadata.name=watched' }), 'narrowed list allowed');
  t.equal((await apiFailure(core.listNamespacedSecret({ namespace: 'jobs' }))).httpCode, 403, 'a full list is not');
});

t.test('who is asking: anonymous, bad tokens, deleted accounts', async (t) => {
  t.equal((await rawRequest(cluster, 'GET', '/version')).status, 200, 'anyone may read /version');
  const anonymous = await rawRequest(cluster, 'GET', '/api/v1/namespaces');
  t.equal(anonymous.status, 403, 'anonymous may not list namespaces');
  t.match(anonymous.json(), { message: 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope' });
  t.equal((await rawRequest(cluster, 'GET', '/apis')).status, 403, 'discovery is for authenticated users');
  const bad = await rawRequest(cluster, 'GET', '/api/v1/namespaces', { token: 'not-a-token' });
  t.equal(bad.status, 401);
  t.match(bad.json(), { kind: 'Status', reason: 'Unauthorized', code: 401 });
  t.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces', { headers: { authorization: 'Basic eDp5' } })).status, 401, 'only bearer tokens are accepted');

  const { token } = await serviceAccountKubeConfig(cluster, 'jobs', 'short-lived');
  t.equal((await rawRequest(cluster, 'GET', '/apis', { token })).status, 200, 'an authenticated account may discover');
  await adminCore.deleteNamespacedServiceAccount({ namespace: 'jobs', name: 'short-lived' });
  t.equal((await rawRequest(cluster, 'GET', '/apis', { token })).status, 401, 'the token dies with its account');
  await adminCore.createNamespacedServiceAccount({ namespace: 'jobs', body: { metadata: { name: 'short-lived' } } });
  t.equal((await rawRequest(cluster, 'GET', '/apis', { token })).status, 401, 'and does not come back for a new account of the same name');
});

t.test('TokenRequest (serviceaccounts/token) and TokenReview', async (t) => {
  await adminCore.createNamespacedServiceAccount({ namespace: 'jobs', body: { metadata: { name: 'api' } } });
  const path = '/api/v1/namespaces/jobs/serviceaccounts/api/token';
  const headers = { authorization: `Bearer ${(admin.getCurrentUser()?.token ?? '')}` };
  const tooShort = await rawRequest(cluster, 'POST', path, { headers, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 60 } } });
  t.equal(tooShort.status, 422, 'at least ten minutes');
  t.match(tooShort.json(), { message: /may not specify a duration less than 10 minutes/ });
  t.equal((await rawRequest(cluster, 'POST', '/api/v1/namespaces/jobs/serviceaccounts/nobody/token', { headers, body: {} })).status, 404, 'no account, no token');

  const issued = await rawRequest(cluster, 'POST', path, { headers, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['archive'], expirationSeconds: 900 } } });
  t.equal(issued.status, 201);
  const request = issued.json() as { kind: string; status: { token: string; expirationTimestamp: string } };
  t.equal(request.kind, 'TokenRequest');
  const expires = Date.parse(request.status.expirationTimestamp) - Date.now();
  t.ok(expires > 850_000 && expires <= 900_000, 'expires as asked');
  const claims = JSON.parse(Buffer.from(request.status.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.match(claims, { iss: 'https://kubernetes.default.svc.cluster.local', sub: 'system:serviceaccount:jobs:api', aud: ['archive'], 'kubernetes.io': { namespace: 'jobs', serviceaccount: { name: 'api' } } });

  const review = async (token: string, audiences?: string[]) =>
    (await rawRequest(cluster, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      headers,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } },
    })).json() as { kind: string; status: { authenticated?: boolean; user?: { username?: string; groups?: string[] }; audiences?: string[]; error?: string } };
  const ok = await review(request.status.token, ['archive']);
  t.equal(ok.kind, 'TokenReview');
  t.match(ok.status, { authenticated: true, user: { username: 'system:serviceaccount:jobs:api', groups: ['system:serviceaccounts', 'system:serviceaccounts:jobs', 'system:authenticated'] }, audiences: ['archive'] });
  t.equal((await review(request.status.token)).status.authenticated, false, 'a token for another audience is not for the API server');
  t.equal((await rawRequest(cluster, 'GET', '/apis', { token: request.status.token })).status, 401, 'nor accepted by it');
  t.match((await review('garbage')).status, { authenticated: false, error: /invalid bearer token/ });
});

t.test('access reviews answer by RBAC', async (t) => {
  const headers = { authorization: `Bearer ${(admin.getCurrentUser()?.token ?? '')}` };
  const sar = async (kind: string, spec: unknown, namespace?: string) => {
    const plural = `${kind.toLowerCase()}s`;
    const path = namespace ? `/apis/authorization.k8s.io/v1/namespaces/${namespace}/${plural}` : `/apis/authorization.k8s.io/v1/${plural}`;
    return rawRequest(cluster, 'POST', path, { headers, body: { apiVersion: 'authorization.k8s.io/v1', kind, ...(namespace ? { metadata: { namespace } } : {}), spec } });
  };
  const reader = 'system:serviceaccount:jobs:reader';
  const groups = ['system:serviceaccounts', 'system:serviceaccounts:jobs', 'system:authenticated'];
  const allowed = await sar('SubjectAccessReview', { user: reader, groups, resourceAttributes: { namespace: 'jobs', verb: 'get', resource: 'pods', subresource: 'log' } });
  t.equal(allowed.status, 201);
  t.match(allowed.json(), { kind: 'SubjectAccessReview', status: { allowed: true, reason: /RoleBinding "reader\/jobs" of Role "reader"/ } });
  t.match((await sar('SubjectAccessReview', { user: reader, groups, resourceAttributes: { namespace: 'jobs', verb: 'delete', resource: 'pods' } })).json(), { status: { allowed: false } });
  t.match((await sar('SubjectAccessReview', { user: 'x', nonResourceAttributes: { path: '/version', verb: 'get' } })).json(), { status: { allowed: false } }, 'groups count: without system:authenticated no /version');
  t.match((await sar('SubjectAccessReview', { user: 'x', groups: ['system:authenticated'], nonResourceAttributes: { path: '/version', verb: 'get' } })).json(), { status: { allowed: true } });
  t.equal((await sar('SubjectAccessReview', { resourceAttributes: { verb: 'get', resource: 'pods' } })).status, 422, 'a user or group is required');
  t.equal((await sar('SubjectAccessReview', { user: 'x' })).status, 422, 'exactly one kind of attributes');
  t.match((await sar('LocalSubjectAccessReview', { user: reader, groups, resourceAttributes: { namespace: 'jobs', verb: 'list', resource: 'pods' } }, 'jobs')).json(), { status: { allowed: true } });
  t.equal((await sar('LocalSubjectAccessReview', { user: reader, resourceAttributes: { namespace: 'other', verb: 'list', resource: 'pods' } }, 'jobs')).status, 422, 'a local review stays in its namespace');

  const { token } = await serviceAccountKubeConfig(cluster, 'jobs', 'reader');
  const self = await rawRequest(cluster, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    token,
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'jobs', verb: 'watch', resource: 'pods' } } },
  });
  t.match(self.json(), { status: { allowed: true } }, 'any authenticated user may ask about itself');
  t.equal((await rawRequest(cluster, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { token, body: { spec: { user: 'x', nonResourceAttributes: { path: '/', verb: 'get' } } } })).status, 403, 'but not about others');
  const rules = (await rawRequest(cluster, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { token, body: { spec: { namespace: 'jobs' } } })).json() as { status: { resourceRules: Array<{ resources: string[] }> } };
  t.ok(rules.status.resourceRules.some((r) => r.resources.includes('pods/log')), 'the rules review lists the Role');
  const whoami = (await rawRequest(cluster, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { token, body: {} })).json();
  t.match(whoami, { kind: 'SelfSubjectReview', status: { userInfo: { username: reader, groups } } });
  t.equal((await rawRequest(cluster, 'GET', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { headers })).status, 405, 'reviews are only created');
});

t.test('impersonation needs the impersonate verb', async (t) => {
  const headers = { authorization: `Bearer ${(admin.getCurrentUser()?.token ?? '')}`, 'impersonate-user': 'system:serviceaccount:jobs:reader' };
  t.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/jobs/pods', { headers })).status, 200, 'admin acting as reader may list pods in jobs');
  t.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/other/pods', { headers })).status, 403, 'and gets the reader\'s limits');
  const { token } = await serviceAccountKubeConfig(cluster, 'jobs', 'reader');
  t.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/jobs/pods', { token, headers: { 'impersonate-user': 'kubernetes-admin' } })).status, 403, 'the reader may not impersonate');
  t.equal((await rawRequest(cluster, 'GET', '/api/v1/namespaces/jobs/pods', { token, headers: { 'impersonate-group': 'system:masters' } })).status, 400, 'groups without a user are refused');
});

t.test('without enforcement requests pass, but reviews still answer by RBAC', async (t) => {
  const open = await startTestCluster(t);
  t.equal(open.enforceRbac, false);
  const { kubeConfig, token } = await serviceAccountKubeConfig(open, 'default', 'nobody');
  t.ok(await kubeConfig.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'default' }), 'allowed');
  const review = await rawRequest(open, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    token,
    body: { spec: { resourceAttributes: { namespace: 'default', verb: 'list', resource: 'secrets' } } },
  });
  t.match(review.json(), { status: { allowed: false } }, 'RBAC grants nothing');
  t.equal((await rawRequest(open, 'GET', '/api/v1/namespaces', { token: 'bad' })).status, 401, 'bad tokens are refused either way');
});
