/**
 * The deployment tests' own decision logic, on tables: RBAC rule matching,
 * Kubernetes API paths and calls found in source, .dockerignore.
 */
import t from 'tap';
import { findCalls, resourceOfPath, stripComments } from './helpers/kube-call-scan.js';
import { keptByDockerignore, parseDockerfile } from './helpers/dockerfile.js';
import { ruleAllows, type Access } from './helpers/rbac.js';

t.test('ruleAllows', async (t) => {
  const pods = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] };
  const named = { apiGroups: [''], resources: ['secrets'], resourceNames: ['tls'], verbs: ['get'] };
  const cases: Array<[string, Parameters<typeof ruleAllows>[0], Access, boolean]> = [
    ['listed verb', pods, { group: '', resource: 'pods', verb: 'get' }, true],
    ['other verb', pods, { group: '', resource: 'pods', verb: 'delete' }, false],
    ['other group', pods, { group: 'batch', resource: 'pods', verb: 'get' }, false],
    ['a subresource is not its resource', pods, { group: '', resource: 'pods/log', verb: 'get' }, false],
    ['subresource listed', { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }, { group: '', resource: 'pods/log', verb: 'get' }, true],
    ['*/subresource', { apiGroups: [''], resources: ['*/log'], verbs: ['get'] }, { group: '', resource: 'pods/log', verb: 'get' }, true],
    ['wildcards', { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { group: 'batch', resource: 'jobs', verb: 'delete' }, true],
    ['named object', named, { group: '', resource: 'secrets', verb: 'get', name: 'tls' }, true],
    ['other name', named, { group: '', resource: 'secrets', verb: 'get', name: 'other' }, false],
    ['unnamed request against resourceNames', named, { group: '', resource: 'secrets', verb: 'get' }, false],
  ];
  for (const [name, rule, access, expected] of cases) t.equal(ruleAllows(rule, access), expected, name);
});

t.test('resourceOfPath', async (t) => {
  const cases: Array<[string, ReturnType<typeof resourceOfPath>]> = [
    ['/api/v1/namespaces/${ns}/pods', { group: '', resource: 'pods', collection: true }],
    ['/api/v1/namespaces/${ns}/pods/${name}/log', { group: '', resource: 'pods/log', collection: false }],
    ['/apis/batch/v1/namespaces/${ns}/jobs/${name}', { group: 'batch', resource: 'jobs', collection: false }],
    ['/apis/coordination.k8s.io/v1/namespaces/${ns}/leases', { group: 'coordination.k8s.io', resource: 'leases', collection: true }],
    ['/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/x', { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', collection: false }],
    ['/api/v1/namespaces', { group: '', resource: 'namespaces', collection: true }],
    ['/apis/batch', undefined],
    ['/healthz', undefined],
  ];
  for (const [apiPath, expected] of cases) t.same(resourceOfPath(apiPath), expected, apiPath);
});

t.test('findCalls', async (t) => {
  const source = [
    '// GET /api/v1/namespaces/x/secrets is only mentioned here',
    'await batch.createNamespacedJob({ namespace, body });',
    'await core.readNamespacedPodLog({ name });',
    'const text = await readFile(file);',
    "const r = new Reflector({ path: `/api/v1/namespaces/${ns}/events` });",
    "await http.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/pods/${n}/eviction` });",
    'new LeaderElector({ name });',
  ].join('\n');
  const found = findCalls('f.ts', source).map((c) => `${c.verb ?? '*'} ${c.group || 'core'}/${c.resource}`);
  t.same(found.sort(), [
    '* core/pods/eviction',
    'create batch/jobs',
    'create coordination.k8s.io/leases',
    'get coordination.k8s.io/leases',
    'get core/pods/log',
    'list core/events',
    'update coordination.k8s.io/leases',
    'watch core/events',
  ]);
  t.notMatch(stripComments('/* /api/v1/pods */ x // not a line comment\n  // /api/v1/secrets\ny'), /secrets|\/\* /, 'comments are dropped');
});

t.test('keptByDockerignore', async (t) => {
  const ignore = '# comment\n**\n!package.json\n!lib/**\n!k8s-manifests/base/**\nlib/**/*.test.ts\n';
  const cases: Array<[string, boolean]> = [
    ['package.json', true],
    ['package-lock.json', false],
    ['lib/contract.ts', true],
    ['lib/x.test.ts', false],
    ['k8s-manifests/base/api.yaml', true],
    ['k8s-manifests/overlays/plain/kustomization.yaml', false],
    ['node_modules/yaml/package.json', false],
  ];
  for (const [file, kept] of cases) t.equal(keptByDockerignore(ignore, file), kept, file);
});

t.test('parseDockerfile', async (t) => {
  const file = parseDockerfile('ARG BASE=node:20\n# comment\nFROM ${BASE} AS one\nRUN a \\\n  # inner comment\n  && b\nFROM one AS two\nCOPY --from=one /x ./y\n');
  t.same(file.globalArgs, { BASE: 'node:20' });
  t.same(file.stages.map((s) => [s.name, s.base]), [['one', '${BASE}'], ['two', 'one']]);
  t.same(file.stages[0]!.instructions, [{ op: 'RUN', text: 'a    && b' }], 'continuation lines joined, comments inside dropped');
});
