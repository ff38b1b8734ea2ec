/**
 * Mutating admission webhooks on the local cluster, with a real HTTPS
 * webhook: reached through a Service or a URL, its patch applied, its
 * selectors and rules honoured, TLS verified against caBundle with
 * failurePolicy deciding what a failed call means, denials passed on, pods of
 * the Job controller admitted too, reinvocation, and matchConditions (CEL).
 */
import t from 'tap';
import {
  AdmissionregistrationV1Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1MutatingWebhook,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { apiFailure, conditionOf, rawRequest, shellJob, startTestCluster } from '../helpers/local-cluster.js';
import { addLabels, startWebhookServer, webhookCertificates, type Received, type Responder } from '../helpers/webhook-server.js';
import { waitFor } from '../helpers/wait-for.js';

const SERVICE = { namespace: 'webhooks', name: 'e2e-webhook' };
const cluster = await startTestCluster(t, { namespaces: ['webhooks', 'adm-service', 'adm-url', 'adm-select', 'adm-fail', 'adm-deny', 'adm-jobs', 'adm-reinvoke', 'adm-conditions'] });
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);

const certificates = webhookCertificates(SERVICE.name, SERVICE.namespace);
const otherCa = webhookCertificates(SERVICE.name, SERVICE.namespace).ca;

/** Path → responder: each test serves its own path of the one webhook server. */
const responders = new Map<string, Responder>();
const webhook = await startWebhookServer(t, certificates, (request, path) => responders.get(path)?.(request, path) ?? { allowed: true });
cluster.exposeService(SERVICE.namespace, SERVICE.name, 443, { host: '127.0.0.1', port: webhook.port });
const receivedAt = (path: string): Received[] => webhook.received.filter((r) => r.path === path);

const inNamespace = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });
const configMapRule = { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] };

function hook(name: string, path: string, overrides: Partial<V1MutatingWebhook> = {}): V1MutatingWebhook {
  return {
    name,
    clientConfig: { service: { namespace: SERVICE.namespace, name: SERVICE.name, path, port: 443 }, caBundle: webhook.caBundle },
    rules: [configMapRule],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    timeoutSeconds: 5,
    ...overrides,
  };
}

/** Registers a configuration for the rest of the test, then removes it. */
async function register(t: { teardown(fn: () => unknown): void }, name: string, ...webhooks: V1MutatingWebhook[]): Promise<V1MutatingWebhookConfiguration> {
  const created = await admission.createMutatingWebhookConfiguration({ body: { metadata: { name }, webhooks } });
  t.teardown(() => admission.deleteMutatingWebhookConfiguration({ name }));
  return created;
}

const labelsOf = async (namespace: string, name: string) => (await core.readNamespacedConfigMap({ namespace, name })).metadata?.labels;

t.test('a webhook reached through a Service patches created objects', async (t) => {
  responders.set('/label', (request) => ({ allowed: true, patch: addLabels(request.object, { 'e2e.example.com/mutated': 'service' }) }));
  await register(t, 'e2e-service', hook('service.e2e.example.com', '/label', { namespaceSelector: inNamespace('adm-service') }));
  const created = await core.createNamespacedConfigMap({ namespace: 'adm-service', body: { metadata: { name: 'plain' }, data: { k: 'v' } } });
  t.equal(created.metadata?.labels?.['e2e.example.com/mutated'], 'service', 'the answer to the create carries the patch');
  t.same(created.data, { k: 'v' }, 'and keeps the rest');
  t.equal((await labelsOf('adm-service', 'plain'))?.['e2e.example.com/mutated'], 'service', 'the stored object too');

  const [call] = receivedAt('/label');
  t.match(call?.request, {
    operation: 'CREATE',
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    resource: { group: '', version: 'v1', resource: 'configmaps' },
    namespace: 'adm-service',
    name: 'plain',
    dryRun: false,
    object: { metadata: { name: 'plain' }, data: { k: 'v' } },
  }, 'the review describes the request');
  t.match(call?.request.uid, /^[0-9a-f-]{36}$/, 'with a uid');
  t.ok(call?.request.userInfo.username, 'and who asked');

  const unlabelled = await core.createNamespacedConfigMap({ namespace: 'adm-url', body: { metadata: { name: 'elsewhere' } } });
  t.notOk(unlabelled.metadata?.labels?.['e2e.example.com/mutated'], 'the namespaceSelector kept it to its namespace');
});

t.test('a webhook reached through a URL patches created objects', async (t) => {
  responders.set('/url', (request) => ({ allowed: true, patch: addLabels(request.object, { 'e2e.example.com/mutated': 'url' }) }));
  await register(t, 'e2e-url', {
    ...hook('url.e2e.example.com', '/url', { namespaceSelector: inNamespace('adm-url') }),
    clientConfig: { url: webhook.url('/url'), caBundle: webhook.caBundle },
  });
  const created = await core.createNamespacedConfigMap({ namespace: 'adm-url', body: { metadata: { name: 'by-url', labels: { kept: 'yes' } } } });
  t.same(created.metadata?.labels, { kept: 'yes', 'e2e.example.com/mutated': 'url' }, 'the webhook\'s label is added to the existing ones');
  t.equal(receivedAt('/url').length, 1, 'the webhook was called once');
});

t.test('objectSelector, namespaceSelector and rules decide which requests a webhook sees', async (t) => {
  await core.createNamespace({ body: { metadata: { name: 'adm-team-a', labels: { team: 'a' } } } });
  await core.createNamespace({ body: { metadata: { name: 'adm-team-b', labels: { team: 'b' } } } });
  responders.set('/select', (request) => ({ allowed: true, patch: addLabels(request.object, { 'e2e.example.com/mutated': 'select' }) }));
  await register(
    t,
    'e2e-select',
    hook('object.e2e.example.com', '/select', { namespaceSelector: inNamespace('adm-select'), objectSelector: { matchLabels: { admit: 'yes' } } }),
    hook('namespace.e2e.example.com', '/select', { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] } }),
  );
  const mutated = (labels: Record<string, string> | undefined): boolean => labels?.['e2e.example.com/mutated'] === 'select';

  t.ok(mutated((await core.createNamespacedConfigMap({ namespace: 'adm-select', body: { metadata: { name: 'chosen', labels: { admit: 'yes' } } } })).metadata?.labels), 'objectSelector: a matching object is mutated');
  t.notOk(mutated((await core.createNamespacedConfigMap({ namespace: 'adm-select', body: { metadata: { name: 'passed-over', labels: { admit: 'no' } } } })).metadata?.labels), 'objectSelector: others are not');
  t.ok(mutated((await core.createNamespacedConfigMap({ namespace: 'adm-team-a', body: { metadata: { name: 'in-a' } } })).metadata?.labels), 'namespaceSelector: an object in a team=a namespace is mutated');
  t.notOk(mutated((await core.createNamespacedConfigMap({ namespace: 'adm-team-b', body: { metadata: { name: 'in-b' } } })).metadata?.labels), 'namespaceSelector: one in team=b is not');

  const calls = receivedAt('/select').map((r) => `${r.request.namespace}/${r.request.name}`);
  t.same(calls, ['adm-select/chosen', 'adm-team-a/in-a'], 'the webhook was called only for the selected objects');

  await core.patchNamespacedConfigMap({ namespace: 'adm-team-a', name: 'in-a', body: { data: { x: '1' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await core.createNamespacedSecret({ namespace: 'adm-team-a', body: { metadata: { name: 'secret-in-a' }, stringData: { x: '1' } } });
  t.equal(receivedAt('/select').length, 2, 'rules: an UPDATE and a Secret CREATE are not sent to a CREATE-configmaps webhook');
});

t.test('TLS: a wrong caBundle fails the call; failurePolicy decides what follows', async (t) => {
  responders.set('/tls', (request) => ({ allowed: true, patch: addLabels(request.object, { 'e2e.example.com/mutated': 'tls' }) }));
  const wrongCa = Buffer.from(otherCa.certPem).toString('base64');
  const config = await register(t, 'e2e-tls', hook('tls.e2e.example.com', '/tls', { namespaceSelector: inNamespace('adm-fail'), clientConfig: { service: { ...SERVICE, path: '/tls', port: 443 }, caBundle: wrongCa } }));

  const failed = await apiFailure(core.createNamespacedConfigMap({ namespace: 'adm-fail', body: { metadata: { name: 'rejected' } } }));
  t.equal(failed.httpCode, 500, 'failurePolicy Fail: the request fails with 500');
  t.equal(failed.status.reason, 'InternalError');
  t.match(failed.status.message, /failed calling webhook "tls\.e2e\.example\.com"/);
  t.equal((await apiFailure(core.readNamespacedConfigMap({ namespace: 'adm-fail', name: 'rejected' }))).httpCode, 404, 'nothing was stored');
  t.equal(receivedAt('/tls').length, 0, 'the webhook never got the review');

  const webhooks = config.webhooks!.map((w) => ({ ...w, failurePolicy: 'Ignore' }));
  await admission.patchMutatingWebhookConfiguration({ name: 'e2e-tls', body: { webhooks } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const ignored = await core.createNamespacedConfigMap({ namespace: 'adm-fail', body: { metadata: { name: 'let-through' } } });
  t.equal(ignored.metadata?.name, 'let-through', 'failurePolicy Ignore: the request goes through');
  t.notOk(ignored.metadata?.labels?.['e2e.example.com/mutated'], 'unmutated');
});

t.test('an unreachable webhook fails the request under failurePolicy Fail', async (t) => {
  await register(t, 'e2e-unreachable', hook('unreachable.e2e.example.com', '/', {
    namespaceSelector: inNamespace('adm-fail'),
    clientConfig: { service: { namespace: SERVICE.namespace, name: 'no-such-service', path: '/', port: 443 }, caBundle: webhook.caBundle },
  }));
  const failed = await apiFailure(core.createNamespacedConfigMap({ namespace: 'adm-fail', body: { metadata: { name: 'nowhere' } } }));
  t.equal(failed.httpCode, 500);
  t.match(failed.status.message, /failed calling webhook "unreachable\.e2e\.example\.com"/);
});

t.test('a denial reaches the client with the webhook\'s code and message', async (t) => {
  responders.set('/deny', (request) =>
    request.object.metadata?.name?.startsWith('forbidden-')
      ? { allowed: false, status: { code: 403, message: 'names starting with forbidden- are not allowed' } }
      : { allowed: true },
  );
  await register(t, 'e2e-deny', hook('deny.e2e.example.com', '/deny', { namespaceSelector: inNamespace('adm-deny') }));
  const denied = await apiFailure(core.createNamespacedConfigMap({ namespace: 'adm-deny', body: { metadata: { name: 'forbidden-one' } } }));
  t.equal(denied.httpCode, 403);
  t.equal(denied.status.message, 'admission webhook "deny.e2e.example.com" denied the request: names starting with forbidden- are not allowed');
  t.equal((await apiFailure(core.readNamespacedConfigMap({ namespace: 'adm-deny', name: 'forbidden-one' }))).httpCode, 404, 'nothing was stored');
  t.ok(await core.createNamespacedConfigMap({ namespace: 'adm-deny', body: { metadata: { name: 'allowed-one' } } }), 'other names pass');

  const viaHttp = await rawRequest(cluster, 'POST', '/api/v1/namespaces/adm-deny/configmaps', { body: { metadata: { name: 'forbidden-two' } } });
  t.match(viaHttp.json(), { kind: 'Status', status: 'Failure', code: 403, message: /denied the request/ }, 'the body is a Status');
});

t.test('pods the Job controller creates pass through the webhook', async (t) => {
  responders.set('/pods', (request) => ({
    allowed: true,
    patch: [
      ...addLabels(request.object, { 'e2e.example.com/mutated': 'pod' }),
      { op: 'add', path: '/spec/containers/0/env', value: [{ name: 'INJECTED', value: 'by-webhook' }] },
    ],
  }));
  await register(t, 'e2e-pods', hook('pods.e2e.example.com', '/pods', {
    namespaceSelector: inNamespace('adm-jobs'),
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
  }));
  await batch.createNamespacedJob({ namespace: 'adm-jobs', body: shellJob('mutated', 'echo "INJECTED=$INJECTED"') });
  await waitFor(async () => conditionOf(await batch.readNamespacedJob({ namespace: 'adm-jobs', name: 'mutated' }), 'Complete')?.status === 'True', { what: 'job mutated to complete' });
  const [pod] = (await core.listNamespacedPod({ namespace: 'adm-jobs', labelSelector: 'job-name=mutated' })).items;
  t.equal(pod?.metadata?.labels?.['e2e.example.com/mutated'], 'pod', 'the Job\'s pod carries the webhook\'s label');
  t.equal(pod?.metadata?.labels?.['job-name'], 'mutated', 'next to the Job\'s own labels');
  const log = await rawRequest(cluster, 'GET', `/api/v1/namespaces/adm-jobs/pods/${pod?.metadata?.name}/log`);
  t.equal(log.text, 'INJECTED=by-webhook\n', 'the container ran with the env var the webhook added');
  const [call] = receivedAt('/pods');
  t.equal(call?.request.userInfo.username, 'system:serviceaccount:kube-system:job-controller', 'the review names the Job controller as the requester');
  t.match(call?.request.object.metadata, { generateName: 'mutated-' }, 'and shows the pod before it got its name');
});

t.test('reinvocationPolicy IfNeeded calls a webhook again after a later one changed the object', async (t) => {
  const labelOnce = (key: string): Responder => (request) =>
    request.object.metadata?.labels?.[key] ? { allowed: true } : { allowed: true, patch: addLabels(request.object, { [key]: 'set' }) };
  responders.set('/first', labelOnce('first'));
  responders.set('/second', labelOnce('second'));
  // Configurations are called in name order: "-a-" before "-b-".
  await register(t, 'e2e-reinvoke-a', hook('first.e2e.example.com', '/first', { namespaceSelector: inNamespace('adm-reinvoke'), reinvocationPolicy: 'IfNeeded' }));
  await register(t, 'e2e-reinvoke-b', hook('second.e2e.example.com', '/second', { namespaceSelector: inNamespace('adm-reinvoke') }));

  const created = await core.createNamespacedConfigMap({ namespace: 'adm-reinvoke', body: { metadata: { name: 'twice' } } });
  t.same(created.metadata?.labels, { first: 'set', second: 'set' }, 'both patches applied');
  const first = receivedAt('/first').filter((r) => r.request.name === 'twice');
  t.equal(first.length, 2, 'the IfNeeded webhook was called twice');
  t.same(first[1]?.request.object.metadata?.labels, { first: 'set', second: 'set' }, 'the second time it saw the later webhook\'s change');
  t.equal(receivedAt('/second').filter((r) => r.request.name === 'twice').length, 1, 'the Never webhook once');

  await admission.patchMutatingWebhookConfiguration(
    { name: 'e2e-reinvoke-a', body: [{ op: 'replace', path: '/webhooks/0/reinvocationPolicy', value: 'Never' }] },
  );
  await core.createNamespacedConfigMap({ namespace: 'adm-reinvoke', body: { metadata: { name: 'once' } } });
  t.equal(receivedAt('/first').filter((r) => r.request.name === 'once').length, 1, 'with Never it is called once');
});

t.test('matchConditions: false skips the webhook, true calls it, an error is the failurePolicy’s', async (t) => {
  responders.set('/conditions', (request) => ({ allowed: true, patch: addLabels(request.object, { 'e2e.example.com/called': 'yes' }) }));
  const selected = { namespaceSelector: inNamespace('adm-conditions') };
  await register(
    t,
    'e2e-conditions',
    hook('conditions.e2e.example.com', '/conditions', {
      ...selected,
      matchConditions: [
        { name: 'wants-it', expression: "has(object.metadata.labels) && object.metadata.labels['want'] == 'yes'" },
        { name: 'by-admin', expression: "request.userInfo.username == 'kubernetes-admin' && request.operation == 'CREATE' && oldObject == null" },
      ],
    }),
    hook('broken-fail.e2e.example.com', '/conditions', { ...selected, matchConditions: [{ name: 'broken', expression: "object.metadata.labels['missing'] == 'x'" }] }),
  );
  const create = (name: string, labels: Record<string, string>) => core.createNamespacedConfigMap({ namespace: 'adm-conditions', body: { metadata: { name, labels } } });
  // The second webhook's condition errors for a ConfigMap without the label: Fail refuses it.
  const failed = await apiFailure(create('unwanted', { want: 'no' }));
  t.equal(failed.httpCode, 500, 'an evaluation error with failurePolicy Fail refuses the request');
  t.match(failed.status.message, /webhook "broken-fail\.e2e\.example\.com": failed to evaluate match conditions: broken: /, 'naming the webhook and the condition');
  t.equal(receivedAt('/conditions').length, 0, 'the first webhook was skipped (a condition was false)');

  await admission.patchMutatingWebhookConfiguration(
    { name: 'e2e-conditions', body: [{ op: 'replace', path: '/webhooks/1/failurePolicy', value: 'Ignore' }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  const skipped = await create('unwanted-2', { want: 'no' });
  t.equal(skipped.metadata?.labels?.['e2e.example.com/called'], undefined, 'Ignore: admitted unchanged');
  const wanted = await create('wanted', { want: 'yes' });
  t.equal(wanted.metadata?.labels?.['e2e.example.com/called'], 'yes', 'every condition true: called');
  t.equal(receivedAt('/conditions').length, 1, 'called once');
});
