/**
 * Deletion on the local cluster: finalizers that hold objects, graceful
 * termination of pods (SIGTERM, then SIGKILL after the grace period), the
 * kubelet removing containers and logs while the object stays, propagation
 * policies on Job deletion, preconditions and deletecollection.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import { BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import {
  apiFailure,
  containerPid,
  processAlive,
  rawRequest,
  shellJob,
  shellPod,
  startTestCluster,
} from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

const NS = 'deletion';
// Long enough that a log read right after a container stopped is sure to find it.
const CONTAINER_REMOVAL_DELAY_MS = 3_000;
const cluster = await startTestCluster(t, { namespaces: [NS], containerRemovalDelayMs: CONTAINER_REMOVAL_DELAY_MS });
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const readPod = (name: string): Promise<V1Pod> => core.readNamespacedPod({ namespace: NS, name });
const podGone = (name: string, timeoutMs = 10_000) =>
  waitFor(async () => (await apiFailure(readPod(name))).httpCode === 404, { what: `pod ${name} to be gone`, timeoutMs });
const logOf = (pod: string) => rawRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/pods/${pod}/log`);
const runningPid = async (name: string): Promise<number> =>
  waitFor(async () => {
    const pod = await readPod(name);
    return pod.status?.phase === 'Running' ? containerPid(pod) : undefined;
  }, { what: `pod ${name} to run` });
const logContains = (pod: string, text: string) =>
  waitFor(async () => (await logOf(pod)).text.includes(text), { what: `the log of ${pod} to contain ${JSON.stringify(text)}` });

t.test('a finalizer keeps a deleted pod; its containers stop and are removed; removing the finalizer deletes it', async (t) => {
  // The trap makes the shell say it got SIGTERM; `wait` lets the trap run at once.
  const script = `trap 'echo got SIGTERM; exit 0' TERM; echo ready; sleep 30 & wait`;
  await core.createNamespacedPod({
    namespace: NS,
    body: shellPod('held', script, { terminationGracePeriodSeconds: 10 }, { finalizers: ['example.com/hold'] }),
  });
  const pid = await runningPid('held');
  await logContains('held', 'ready\n');

  const deleting = await core.deleteNamespacedPod({ namespace: NS, name: 'held' });
  t.ok(deleting.metadata?.deletionTimestamp, 'the delete answers with the pod, now carrying a deletionTimestamp');
  t.equal(deleting.metadata?.deletionGracePeriodSeconds, 10, 'and the pod\'s grace period');

  const stopped = await waitFor(async () => {
    const pod = await readPod('held');
    return pod.status?.containerStatuses?.[0]?.state?.terminated ? pod : undefined;
  }, { what: 'the held pod\'s container to stop' });
  const log = await logOf('held');
  t.equal(stopped.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0, 'the container exited on its own SIGTERM handler');
  t.notOk(processAlive(pid), 'the process is gone');
  t.equal(log.status, 200, 'right after the container stopped its log is still there');
  t.equal(log.text, 'ready\ngot SIGTERM\n', 'SIGTERM reached the process');

  const afterRemoval = await waitFor(async () => {
    const response = await logOf('held');
    return response.status === 404 ? response : undefined;
  }, { what: 'the kubelet to remove the held pod\'s containers and log', timeoutMs: CONTAINER_REMOVAL_DELAY_MS + 5_000 });
  t.equal((afterRemoval.json() as { reason?: string }).reason, 'NotFound', 'the log endpoint answers 404 NotFound');
  const still = await readPod('held');
  t.ok(still.metadata?.deletionTimestamp, 'the object is still there, marked for deletion');
  t.same(still.metadata?.finalizers, ['example.com/hold'], 'held by its finalizer');

  const addFinalizer = await apiFailure(
    core.patchNamespacedPod({ namespace: NS, name: 'held', body: { metadata: { finalizers: ['example.com/hold', 'example.com/late'] } } }, merge),
  );
  t.equal(addFinalizer.httpCode, 422, 'no finalizer can be added once deletion started');
  t.equal(addFinalizer.status.reason, 'Invalid');
  t.match(addFinalizer.status.message, /no new finalizers can be added if the object is being deleted/);

  await core.patchNamespacedPod({ namespace: NS, name: 'held', body: { metadata: { finalizers: null } } }, merge);
  t.equal((await apiFailure(readPod('held'))).httpCode, 404, 'removing the last finalizer deleted the pod');
});

t.test('a process that ignores SIGTERM gets SIGKILL after gracePeriodSeconds', async (t) => {
  const script = `trap 'echo ignoring SIGTERM' TERM; echo ready; while :; do sleep 0.05; done`;
  await core.createNamespacedPod({ namespace: NS, body: shellPod('stubborn', script, {}, { finalizers: ['example.com/hold'] }) });
  const pid = await runningPid('stubborn');
  await logContains('stubborn', 'ready\n');
  const deletedAt = Date.now();
  await core.deleteNamespacedPod({ namespace: NS, name: 'stubborn', gracePeriodSeconds: 1 });
  await logContains('stubborn', 'ignoring SIGTERM');
  t.ok(processAlive(pid), 'the process survived SIGTERM');
  const terminated = await waitFor(async () => (await readPod('stubborn')).status?.containerStatuses?.[0]?.state?.terminated, {
    what: 'the stubborn container to be killed',
    timeoutMs: 5_000,
  });
  const killedAfter = Date.now() - deletedAt;
  t.equal(terminated.exitCode, 137, 'exit code 137: killed by SIGKILL');
  t.ok(killedAfter >= 900, `killed only after the grace period (${killedAfter} ms)`);
  t.notOk(processAlive(pid), 'the process is gone');
  await core.patchNamespacedPod({ namespace: NS, name: 'stubborn', body: { metadata: { finalizers: null } } }, merge);
  await podGone('stubborn');
});

t.test('a pod without finalizers goes once its containers stopped', async (t) => {
  await core.createNamespacedPod({ namespace: NS, body: shellPod('plain', 'echo ready; sleep 30') });
  const pid = await runningPid('plain');
  const deleting = await core.deleteNamespacedPod({ namespace: NS, name: 'plain' });
  t.ok(deleting.metadata?.deletionTimestamp, 'a running pod is not deleted at once');
  await podGone('plain');
  t.notOk(processAlive(pid), 'deleted once the kubelet stopped it');
});

const sleeperJob = (name: string) => shellJob(name, 'echo running; sleep 30');
const jobPods = async (job: string) => (await core.listNamespacedPod({ namespace: NS, labelSelector: `job-name=${job}` })).items;
const startedJob = async (name: string): Promise<V1Pod> => {
  await batch.createNamespacedJob({ namespace: NS, body: sleeperJob(name) });
  return waitFor(async () => (await jobPods(name)).find((p) => p.status?.phase === 'Running'), { what: `job ${name}'s pod to run` });
};
const jobGone = (name: string, timeoutMs = 10_000) =>
  waitFor(async () => (await apiFailure(batch.readNamespacedJob({ namespace: NS, name }))).httpCode === 404, { what: `job ${name} to be gone`, timeoutMs });
/** Known bugs are waited on with a short bound, so their tests cost little time. */
const BUG_WAIT_MS = 3_000;
const TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

t.test('deleting a Job with propagationPolicy Orphan leaves its pods, without owner', async (t) => {
  const pod = await startedJob('orphaning');
  await batch.deleteNamespacedJob({ namespace: NS, name: 'orphaning', propagationPolicy: 'Orphan' });
  await jobGone('orphaning');
  const orphan = await readPod(pod.metadata!.name!);
  t.notOk(orphan.metadata?.deletionTimestamp, 'the pod is not being deleted');
  t.notOk(orphan.metadata?.ownerReferences?.length, 'and no longer has an owner');
  t.equal(orphan.status?.phase, 'Running', 'it keeps running');
});

t.test('an orphaned Job pod loses its job-tracking finalizer and can be deleted', async () => {
  const pod = await startedJob('orphaned-finalizer');
  const name = pod.metadata!.name!;
  assert.ok(pod.metadata?.finalizers?.includes(TRACKING_FINALIZER), 'a Job pod starts with the tracking finalizer');
  await batch.deleteNamespacedJob({ namespace: NS, name: 'orphaned-finalizer', propagationPolicy: 'Orphan' });
  await jobGone('orphaned-finalizer');
  await waitFor(async () => !(await readPod(name)).metadata?.finalizers?.includes(TRACKING_FINALIZER), {
    what: 'the orphaned pod to lose the job-tracking finalizer',
    timeoutMs: BUG_WAIT_MS,
  });
  await core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 0 });
  await podGone(name, BUG_WAIT_MS);
});

t.test('deleting a Job without a policy orphans its pods (batch/v1 default)', async (t) => {
  const pod = await startedJob('default-policy');
  await batch.deleteNamespacedJob({ namespace: NS, name: 'default-policy' });
  await jobGone('default-policy');
  const orphan = await readPod(pod.metadata!.name!);
  t.notOk(orphan.metadata?.deletionTimestamp, 'the pod stays');
});

t.test('deleting a Job with propagationPolicy Background removes it at once', async (t) => {
  await startedJob('background');
  const status = await batch.deleteNamespacedJob({ namespace: NS, name: 'background', propagationPolicy: 'Background' });
  t.equal(status.status, 'Success');
  t.equal((await apiFailure(batch.readNamespacedJob({ namespace: NS, name: 'background' }))).httpCode, 404, 'the Job is gone at once');
});

t.test('after a Background delete the garbage collector removes the Job\'s pods', async (t) => {
  const pod = await startedJob('background-pods');
  const pid = containerPid(pod);
  await batch.deleteNamespacedJob({ namespace: NS, name: 'background-pods', propagationPolicy: 'Background' });
  await podGone(pod.metadata!.name!);
  t.pass('the pod is gone');
  if (pid !== undefined) t.notOk(processAlive(pid), 'and so is its process');
});

t.test('deleting a Job with propagationPolicy Foreground marks it and holds it while its pods exist', async (t) => {
  const pod = await startedJob('foreground');
  // A finalizer of our own keeps the pod, and so the Job, until we let go.
  await core.patchNamespacedPod(
    { namespace: NS, name: pod.metadata!.name!, body: [{ op: 'add', path: '/metadata/finalizers/-', value: 'test.example/hold' }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  await batch.deleteNamespacedJob({ namespace: NS, name: 'foreground', propagationPolicy: 'Foreground' });
  const marked = await batch.readNamespacedJob({ namespace: NS, name: 'foreground' });
  t.ok(marked.metadata?.deletionTimestamp, 'the Job is marked for deletion');
  t.ok(marked.metadata?.finalizers?.includes('foregroundDeletion'), 'and held by the foregroundDeletion finalizer');
  t.ok((await jobPods('foreground')).length > 0, 'while its pod still exists');
  await waitFor(async () => (await jobPods('foreground')).every((p) => p.metadata?.deletionTimestamp), { what: 'the garbage collector to delete the pods' });
  t.pass('the garbage collector deletes the Job\'s pods');
  const held = await readPod(pod.metadata!.name!);
  const index = held.metadata?.finalizers?.indexOf('test.example/hold') ?? -1;
  await core.patchNamespacedPod(
    { namespace: NS, name: pod.metadata!.name!, body: [{ op: 'test', path: `/metadata/finalizers/${index}`, value: 'test.example/hold' }, { op: 'remove', path: `/metadata/finalizers/${index}` }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  await jobGone('foreground', 15_000);
  t.pass('once the pod is released, the Job goes');
});

t.test('a Foreground-deleted Job goes once its pods are gone', async () => {
  const pod = await startedJob('foreground-done');
  await batch.deleteNamespacedJob({ namespace: NS, name: 'foreground-done', propagationPolicy: 'Foreground' });
  await jobGone('foreground-done', BUG_WAIT_MS);
  assert.equal((await apiFailure(readPod(pod.metadata!.name!))).httpCode, 404, 'when the Job went, its pod was already gone');
});

t.test('a delete whose uid precondition does not match is a 409', async (t) => {
  await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'guarded' } } });
  const failure = await apiFailure(core.deleteNamespacedConfigMap({ namespace: NS, name: 'guarded', body: { preconditions: { uid: 'not-the-uid' } } }));
  t.equal(failure.httpCode, 409);
  t.equal(failure.status.reason, 'Conflict');
  t.match(failure.status.message, /Precondition failed: UID in precondition: not-the-uid/);
  const existing = await core.readNamespacedConfigMap({ namespace: NS, name: 'guarded' });
  const staleRv = await apiFailure(
    core.deleteNamespacedConfigMap({ namespace: NS, name: 'guarded', body: { preconditions: { resourceVersion: '1' } } }),
  );
  t.equal(staleRv.httpCode, 409, 'a resourceVersion precondition that does not match is a 409 too');
  await core.deleteNamespacedConfigMap({ namespace: NS, name: 'guarded', body: { preconditions: { uid: existing.metadata!.uid! } } });
  t.equal((await apiFailure(core.readNamespacedConfigMap({ namespace: NS, name: 'guarded' }))).httpCode, 404, 'the matching uid deletes');
});

t.test('deletecollection deletes what the label selector selects', async (t) => {
  for (const [name, group] of [['g-a1', 'a'], ['g-a2', 'a'], ['g-b1', 'b'], ['g-b2', 'b']] as const) {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { group } } } });
  }
  await core.deleteCollectionNamespacedConfigMap({ namespace: NS, labelSelector: 'group=a' });
  const left = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'group' });
  t.same(left.items.map((c) => c.metadata?.name), ['g-b1', 'g-b2']);
  await core.deleteCollectionNamespacedConfigMap({ namespace: NS, labelSelector: 'group in (b)' });
  t.same((await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'group' })).items, []);
});

t.test('a namespace terminates: contents deleted and finalized first, then the namespace', async (t) => {
  const ns = 'terminating';
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'plain' } } });
  await batch.createNamespacedJob({ namespace: ns, body: shellJob('worker', 'sleep 600') });
  await waitFor(async () => (await core.listNamespacedPod({ namespace: ns })).items[0]?.status?.phase === 'Running', { what: 'the worker pod to run' });

  const deleted = await core.deleteNamespace({ name: ns });
  t.equal((deleted as { status?: { phase?: string } }).status?.phase, 'Terminating', 'DELETE answers the namespace, Terminating');
  const during = await core.readNamespace({ name: ns });
  t.ok(during.metadata?.deletionTimestamp, 'it stays, with a deletionTimestamp');
  t.same(during.spec?.finalizers, ['kubernetes'], 'held by its spec finalizer');
  const refused = await apiFailure(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'late' } } }));
  t.equal(refused.httpCode, 403);
  t.match(refused.status.message, `unable to create new content in namespace ${ns} because it is being terminated`);

  // Everything without a finalizer goes (the pod after its container stopped); the held ConfigMap stays.
  const waiting = await waitFor(async () => {
    const current = await core.readNamespace({ name: ns });
    const remaining = current.status?.conditions?.find((c) => c.type === 'NamespaceContentRemaining');
    return remaining?.message === 'Some resources are remaining: configmaps. has 1 resource instances' ? current : undefined;
  }, { what: 'only the held ConfigMap to remain', timeoutMs: 20_000 });
  t.match(waiting.status?.conditions?.find((c) => c.type === 'NamespaceFinalizersRemaining'), {
    status: 'True',
    reason: 'SomeFinalizersRemain',
    message: 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
  });
  t.equal((await core.listNamespacedPod({ namespace: ns })).items.length, 0, 'the pods are gone');
  t.equal((await batch.listNamespacedJob({ namespace: ns })).items.length, 0, 'and the Job');
  t.equal((await core.listNamespacedServiceAccount({ namespace: ns })).items.length, 0, 'the default ServiceAccount is not created again');
  t.equal(waiting.status?.phase, 'Terminating');

  await core.patchNamespacedConfigMap({ namespace: ns, name: 'held', body: { metadata: { finalizers: null } } }, merge);
  await waitFor(async () => (await apiFailure(core.readNamespace({ name: ns }))).httpCode === 404, { what: 'the namespace to be gone' });
  t.pass('the namespace went once its last content did');
});
