/**
 * What the real API server's built-in admission and defaults add to a pod,
 * over HTTP: the `default` ServiceAccount and `kube-root-ca.crt` in every
 * namespace (created again when deleted), the account's token as a projected
 * volume mounted in every container unless automounting is off, a refusal for
 * a missing account, priority 0 with PreemptLowerPriority, the 300 s
 * tolerations of not-ready and unreachable nodes, and enableServiceLinks.
 */
import t from 'tap';
import { BatchV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { apiFailure, shellJob, shellPod, startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

const cluster = await startTestCluster(t);
const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
const batch = cluster.kubeConfig().makeApiClient(BatchV1Api);
const NS = 'admitted';
const MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

t.test('a new namespace gets its default account and CA, and takes pods at once', async (t) => {
  await core.createNamespace({ body: { metadata: { name: NS } } });
  // No wait: the account exists by the time the next request arrives.
  const pod = await core.createNamespacedPod({ namespace: NS, body: shellPod('first', 'true', { initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }] }) });
  const account = await core.readNamespacedServiceAccount({ namespace: NS, name: 'default' });
  t.ok(account.metadata?.uid, 'the default ServiceAccount');
  const ca = await core.readNamespacedConfigMap({ namespace: NS, name: 'kube-root-ca.crt' });
  t.equal(ca.data?.['ca.crt'], cluster.caPem, 'kube-root-ca.crt holds the cluster CA');

  const spec = pod.spec!;
  t.equal(spec.serviceAccountName, 'default');
  t.equal(spec.serviceAccount, 'default', 'and the deprecated field');
  t.equal(spec.enableServiceLinks, true);
  t.equal(spec.priority, 0);
  t.equal(spec.preemptionPolicy, 'PreemptLowerPriority');
  t.same(spec.tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ]);
  const volume = spec.volumes?.[0];
  t.match(volume?.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/, `the token volume's name (${volume?.name})`);
  t.same(volume?.projected, {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  });
  for (const container of [...spec.initContainers!, ...spec.containers]) {
    t.same(container.volumeMounts, [{ name: volume?.name, readOnly: true, mountPath: MOUNT }], `mounted in ${container.name}`);
  }
});

t.test('automounting off, missing accounts, priorities and own tolerations', async (t) => {
  const noMount = await core.createNamespacedPod({ namespace: NS, body: shellPod('no-mount', 'true', { automountServiceAccountToken: false }) });
  t.equal(noMount.spec?.volumes, undefined, 'automountServiceAccountToken: false on the pod mounts nothing');
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'quiet' }, automountServiceAccountToken: false } });
  const quiet = await core.createNamespacedPod({ namespace: NS, body: shellPod('quiet', 'true', { serviceAccountName: 'quiet' }) });
  t.equal(quiet.spec?.volumes, undefined, 'nor on the account');
  t.equal(quiet.spec?.containers[0]?.volumeMounts, undefined);

  const missing = await apiFailure(core.createNamespacedPod({ namespace: NS, body: shellPod('orphan', 'true', { serviceAccountName: 'ghost' }) }));
  t.equal(missing.httpCode, 403);
  t.equal(missing.status.message, `pods "orphan" is forbidden: error looking up service account ${NS}/ghost: serviceaccount "ghost" not found`);

  const wrongPriority = await apiFailure(core.createNamespacedPod({ namespace: NS, body: shellPod('eager', 'true', { priority: 10 }) }));
  t.equal(wrongPriority.httpCode, 403);
  t.match(wrongPriority.status.message, 'the integer value of priority (10) must not be provided in pod spec; priority admission controller computed 0');
  const critical = await core.createNamespacedPod({ namespace: NS, body: shellPod('critical', 'true', { priorityClassName: 'system-cluster-critical' }) });
  t.equal(critical.spec?.priority, 2_000_000_000, 'a system PriorityClass');
  const unknownClass = await apiFailure(core.createNamespacedPod({ namespace: NS, body: shellPod('vip', 'true', { priorityClassName: 'gold' }) }));
  t.match(unknownClass.status.message, 'no PriorityClass with name gold was found');

  const own = await core.createNamespacedPod({ namespace: NS, body: shellPod('tolerant', 'true', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }] }) });
  t.same(own.spec?.tolerations?.map((x) => [x.key, x.tolerationSeconds]), [['node.kubernetes.io/not-ready', 5], ['node.kubernetes.io/unreachable', 300]], 'only the missing toleration is added');
});

t.test('a deleted default account comes back; Job pods are admitted alike', async (t) => {
  const before = await core.readNamespacedServiceAccount({ namespace: NS, name: 'default' });
  await core.deleteNamespacedServiceAccount({ namespace: NS, name: 'default' });
  const after = await waitFor(async () => {
    const account = await core.readNamespacedServiceAccount({ namespace: NS, name: 'default' });
    return account.metadata?.uid !== before.metadata?.uid ? account : undefined;
  }, { what: 'the default ServiceAccount to be created again' });
  t.not(after.metadata?.uid, before.metadata?.uid, 'a new account');

  await batch.createNamespacedJob({ namespace: NS, body: shellJob('admitted-job', 'true') });
  const pod = await waitFor(async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: 'job-name=admitted-job' })).items[0], { what: 'the job pod' });
  t.equal((pod as V1Pod).spec?.serviceAccountName, 'default');
  t.match((pod as V1Pod).spec?.volumes?.[0]?.name, /^kube-api-access-/);
  const job = await batch.readNamespacedJob({ namespace: NS, name: 'admitted-job' });
  t.equal(job.spec?.template.spec?.volumes, undefined, 'the template itself is not admitted');
  t.equal(job.spec?.template.spec?.enableServiceLinks, undefined, 'nor defaulted as a pod');
});
