/**
 * Behaviours where local-cluster used to differ from kube-apiserver, each
 * pinned over HTTPS: boolean query parameters, the JSON newline, legacy watch
 * paths, Job labels, Lease updates, immutable data, empty metadata lists,
 * future resourceVersions, Service and webhook defaults, wide tables and
 * server-side apply.
 */
import t from 'tap';
import { BatchV1Api, CoordinationV1Api, CoreV1Api, AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { apiFailure, rawRequest, shellJob, startTestCluster } from '../helpers/local-cluster.js';

const cluster = await startTestCluster(t, { namespaces: ['dev'] });
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const token = kc.getCurrentUser()?.token ?? '';
const raw = (method: string, path: string, options: Parameters<typeof rawRequest>[3] = {}) => rawRequest(cluster, method, path, { token, ...options });

t.test('boolean query parameters as apimachinery decodes them', async (t) => {
  await core.createNamespacedConfigMap({ namespace: 'dev', body: { metadata: { name: 'flag' } } });
  for (const value of ['True', 'TRUE', '1', 't', 'yes']) {
    const watch = await raw('GET', `/api/v1/namespaces/dev/configmaps?watch=${value}&timeoutSeconds=1`);
    t.match(watch.text, /^\{"type":"ADDED"/, `watch=${value} is a watch`);
  }
  for (const value of ['false', 'False', '0']) {
    const list = await raw('GET', `/api/v1/namespaces/dev/configmaps?watch=${value}`);
    t.match(list.json(), { kind: 'ConfigMapList' }, `watch=${value} is a list`);
  }
});

t.test('JSON bodies end with a newline; legacy /watch/ paths are served', async (t) => {
  const got = await raw('GET', '/api/v1/namespaces/dev');
  t.ok(got.text.endsWith('}\n'), 'newline after the object');
  const legacy = await raw('GET', '/api/v1/watch/namespaces/dev/configmaps/flag?timeoutSeconds=1');
  t.equal(legacy.status, 200);
  t.match(legacy.text, /^\{"type":"ADDED","object":\{.*"name":"flag".*"kind":"ConfigMap"/);
  t.equal(legacy.text.trim().split('\n').length, 1, 'only the named object');
});

t.test('a Job without labels takes its pod template labels', async (t) => {
  const job = await batch.createNamespacedJob({ namespace: 'dev', body: shellJob('labelled', 'true') });
  t.equal(job.metadata?.labels?.['job-name'], 'labelled');
  t.equal(job.metadata?.labels?.['batch.kubernetes.io/controller-uid'], job.metadata?.uid);
});

t.test('Leases: no unconditional update, durations validated', async (t) => {
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const lease = await coordination.createNamespacedLease({ namespace: 'dev', body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
  const blind = await apiFailure(coordination.replaceNamespacedLease({ namespace: 'dev', name: 'lock', body: { ...lease, metadata: { name: 'lock' } } }));
  t.equal(blind.httpCode, 422);
  t.match(blind.status.message, /metadata\.resourceVersion: Invalid value: 0x0: must be specified for an update/);
  const zero = await apiFailure(coordination.createNamespacedLease({ namespace: 'dev', body: { metadata: { name: 'zero' }, spec: { leaseDurationSeconds: 0 } } }));
  t.equal(zero.httpCode, 422);
  t.match(zero.status.message, /spec\.leaseDurationSeconds: Invalid value: 0: must be greater than 0/);
});

t.test('immutable ConfigMaps and Secrets keep their data', async (t) => {
  const cm = await core.createNamespacedConfigMap({ namespace: 'dev', body: { metadata: { name: 'frozen' }, data: { a: '1' }, immutable: true } });
  const changed = await apiFailure(core.replaceNamespacedConfigMap({ namespace: 'dev', name: 'frozen', body: { ...cm, data: { a: '2' } } }));
  t.equal(changed.httpCode, 422);
  t.match(changed.status.message, /data: Forbidden: field is immutable when `immutable` is set/);
  const thawed = await apiFailure(core.replaceNamespacedConfigMap({ namespace: 'dev', name: 'frozen', body: { ...cm, immutable: false } }));
  t.match(thawed.status.message, /immutable: Forbidden/);
  t.ok(await core.patchNamespacedConfigMap({ namespace: 'dev', name: 'frozen', body: [{ op: 'add', path: '/metadata/labels', value: { ok: 'yes' } }] }), 'metadata may still change');
  const secret = await core.createNamespacedSecret({ namespace: 'dev', body: { metadata: { name: 'frozen' }, stringData: { k: 'v' }, immutable: true } });
  t.equal((await apiFailure(core.replaceNamespacedSecret({ namespace: 'dev', name: 'frozen', body: { ...secret, data: { k: 'dw==' } } }))).httpCode, 422);
});

t.test('removing the last finalizer leaves no finalizers: []', async (t) => {
  await core.createNamespacedConfigMap({ namespace: 'dev', body: { metadata: { name: 'held', finalizers: ['example.com/x'] } } });
  await core.patchNamespacedConfigMap({ namespace: 'dev', name: 'held', body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }] });
  const text = (await raw('GET', '/api/v1/namespaces/dev/configmaps/held')).text;
  t.notMatch(text, /"finalizers"/);
});

t.test('a resourceVersion from the future is a 504 with ResourceVersionTooLarge', async (t) => {
  const future = await raw('GET', '/api/v1/namespaces/dev/configmaps?resourceVersion=999999999');
  t.equal(future.status, 504);
  t.match(future.json(), { reason: 'Timeout', details: { causes: [{ reason: 'ResourceVersionTooLarge' }] } });
  t.equal((await raw('GET', '/api/v1/namespaces/dev/configmaps?resourceVersion=abc')).status, 400);
});

t.test('Services and MutatingWebhookConfigurations get their defaults', async (t) => {
  const svc = await core.createNamespacedService({ namespace: 'dev', body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
  t.match(svc.spec, { type: 'ClusterIP', sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] });
  t.match(svc.spec?.clusterIP, /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/, 'a cluster IP from the service range');
  t.same(svc.spec?.clusterIPs, [svc.spec?.clusterIP]);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const mwc = await admission.createMutatingWebhookConfiguration({
    body: {
      metadata: { name: 'defaults' },
      webhooks: [{ name: 'x.example.com', admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { service: { name: 's', namespace: 'dev' } }, rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] }],
    },
  });
  t.match(mwc.webhooks?.[0], { failurePolicy: 'Fail', matchPolicy: 'Equivalent', namespaceSelector: {}, objectSelector: {}, timeoutSeconds: 10, reinvocationPolicy: 'Never', clientConfig: { service: { port: 443 } }, rules: [{ scope: '*' }] });
  await admission.deleteMutatingWebhookConfiguration({ name: 'defaults' });
});

t.test('-o wide columns in server-side tables', async (t) => {
  const table = (await raw('GET', '/apis/batch/v1/namespaces/dev/jobs', { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } })).json() as { columnDefinitions: Array<{ name: string; priority: number }>; rows: Array<{ cells: unknown[] }> };
  t.same(table.columnDefinitions.filter((c) => c.priority === 1).map((c) => c.name), ['Containers', 'Images', 'Selector']);
  t.match(table.rows[0]?.cells.slice(5), ['main', 'busybox:1.36', /^batch\.kubernetes\.io\/controller-uid=/]);
});

t.test('server-side apply: ownership, removal, conflicts, force', async (t) => {
  const path = '/api/v1/namespaces/dev/configmaps/applied';
  const apply = (manager: string, data: Record<string, string>, extra = '') =>
    raw('PATCH', `${path}?fieldManager=${manager}${extra}`, { contentType: 'application/apply-patch+yaml', body: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n${Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`).join('\n')}\n` });
  const created = await apply('alice', { a: '1', b: '2' });
  t.equal(created.status, 201, 'apply creates');
  t.match(created.json(), { data: { a: '1', b: '2' }, metadata: { managedFields: [{ manager: 'alice', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } }] } });
  const dropped = await apply('alice', { a: '1' });
  t.same((dropped.json() as { data: unknown }).data, { a: '1' }, 'a field the manager stops applying is removed');
  const conflict = await apply('bob', { a: '9' });
  t.equal(conflict.status, 409);
  t.match(conflict.json(), { reason: 'Conflict', message: 'Apply failed with 1 conflict: conflict with "alice": .data.a', details: { causes: [{ reason: 'FieldManagerConflict', field: '.data.a' }] } });
  const shared = await apply('bob', { a: '1', c: '3' });
  t.equal(shared.status, 200, 'applying the same value co-owns it');
  const forced = await apply('bob', { a: '9', c: '3' }, '&force=true');
  t.equal(forced.status, 200);
  const managers = (forced.json() as { metadata: { managedFields: Array<{ manager: string }> } }).metadata.managedFields.map((m) => m.manager);
  t.same(managers.sort(), ['bob'], 'force takes the field; alice owned nothing else and is gone');
  t.equal((await raw('PATCH', path, { contentType: 'application/apply-patch+yaml', body: 'data: {}' })).status, 400, 'fieldManager is required');
  await core.replaceNamespacedConfigMap({ namespace: 'dev', name: 'applied', body: { metadata: { name: 'applied' }, data: { a: '9', c: '3' } } });
  const after = await core.readNamespacedConfigMap({ namespace: 'dev', name: 'applied' });
  t.same(after.metadata?.managedFields?.map((m) => m.manager), ['bob'], 'a PUT without managedFields keeps them');
});
