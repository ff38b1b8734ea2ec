/**
 * Jobs on the local cluster, end to end: pods run as local processes, their
 * logs, retries up to backoffLimit, deadlines, TTL clean-up with foreground
 * cascade, suspend and init containers.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import { BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Job, type V1Pod } from '@kubernetes/client-node';
import {
  conditionOf,
  containerPid,
  processAlive,
  rawRequest,
  shellContainer,
  shellJob,
  startTestCluster,
} from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { named, recordWatch } from '../helpers/watch.js';

const NS = 'jobs';
const cluster = await startTestCluster(t, { namespaces: [NS] });
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);

const readJob = (name: string): Promise<V1Job> => batch.readNamespacedJob({ namespace: NS, name });
const podsOf = async (job: string) => (await core.listNamespacedPod({ namespace: NS, labelSelector: `job-name=${job}` })).items;
const waitForCondition = (name: string, type: string, timeoutMs = 15_000) =>
  waitFor(async () => {
    const job = await readJob(name);
    return conditionOf(job, type)?.status === 'True' ? job : undefined;
  }, { what: `job ${name} to have condition ${type}`, timeoutMs });
const podLog = async (pod: string, query = ''): Promise<{ status: number; body: Buffer; text: string }> =>
  rawRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/pods/${pod}/log${query ? `?${query}` : ''}`);

t.test('a Job runs to Complete and its log is byte-exact', async (t) => {
  const long = 'x'.repeat(25_000);
  // stdout: an ordinary line, UTF-8 and a tab, a line over 20 KiB, and a last line without newline.
  const stdout = `first line\ngrüße\tzwei\n${long}\nno newline at the end`;
  const stderrLine = 'this went to stderr\n';
  const script = [
    `printf 'first line\\n'`,
    `printf 'gr\\303\\274\\303\\237e\\tzwei\\n'`,
    `head -c 25000 /dev/zero | tr '\\000' x`,
    `printf '\\n'`,
    `printf 'this went to stderr\\n' >&2`,
    `printf 'no newline at the end'`,
  ].join('; ');
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('echo', script) });
  const job = await waitForCondition('echo', 'Complete');
  t.equal(job.status?.succeeded, 1);
  t.equal(job.status?.failed, undefined, 'no failed pods');
  t.ok(job.status?.completionTime, 'completionTime is set');
  t.equal(conditionOf(job, 'Complete')?.reason, 'CompletionsReached');

  const [pod] = await podsOf('echo');
  t.equal(pod?.status?.phase, 'Succeeded');
  t.notOk(pod?.metadata?.finalizers?.includes('batch.kubernetes.io/job-tracking'), 'the tracking finalizer was released');
  t.equal(pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);

  const log = await podLog(pod!.metadata!.name!);
  t.equal(log.status, 200);
  const text = log.body.toString('utf8');
  t.equal(text.split(stderrLine).length - 1, 1, 'the stderr line is in the log once');
  // stdout and stderr are separate pipes: the stderr line may land anywhere between records, never inside one.
  t.equal(text.replace(stderrLine, ''), stdout, 'without the stderr line, the log is exactly what went to stdout');
  t.equal(log.body.length, Buffer.byteLength(stdout) + Buffer.byteLength(stderrLine), 'byte count matches');
});

t.test('a failing Job stops after backoffLimit + 1 pods with BackoffLimitExceeded', async (t) => {
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('fails', 'echo failing; exit 3', { backoffLimit: 2 }) });
  const job = await waitForCondition('fails', 'Failed');
  t.match(conditionOf(job, 'Failed'), { status: 'True', reason: 'BackoffLimitExceeded' });
  t.equal(conditionOf(job, 'FailureTarget')?.status, 'True', 'FailureTarget came first, as in batch/v1 since 1.31');
  t.equal(job.status?.failed, 3, 'status.failed counts 3 pods');
  t.notOk(job.status?.active, 'nothing is active');
  const pods = await podsOf('fails');
  t.equal(pods.length, 3, 'exactly 3 pods were created');
  t.same(pods.map((p) => p.status?.phase), ['Failed', 'Failed', 'Failed']);
  t.same(pods.map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode), [3, 3, 3]);
  t.ok(pods.every((p) => !p.metadata?.finalizers?.length), 'every tracking finalizer was released');
});

/**
 * Job startTime has second precision, so a deadline counts from the start of
 * the second the Job started in; starting early in a second leaves the pod
 * most of its deadline to run.
 */
const earlyInASecond = () => waitFor(() => Date.now() % 1000 < 200, { what: 'the start of a second', intervalMs: 5, timeoutMs: 2_000 });

t.test('activeDeadlineSeconds fails the Job and stops its pod', async (t) => {
  const pods = await recordWatch(kc, `/api/v1/namespaces/${NS}/pods`, { labelSelector: 'job-name=deadline' });
  t.teardown(() => pods.stop());
  await earlyInASecond();
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('deadline', 'echo started; sleep 30', { activeDeadlineSeconds: 1, backoffLimit: 0 }) });
  const running = await pods.next((e) => containerPid(e.object as V1Pod) !== undefined, 'the deadline pod\'s container to start');
  const pid = containerPid(running.object as V1Pod)!;
  const job = await waitForCondition('deadline', 'Failed', 10_000);
  t.match(conditionOf(job, 'Failed'), { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
  t.ok(pods.events.some((e) => (e.object as V1Pod).status?.phase === 'Running'), 'the pod was running before the deadline');
  await waitFor(() => !processAlive(pid), { what: `process ${pid} of the deadline pod to be gone` });
  t.notOk(processAlive(pid), 'the sleep 30 process is gone');
  t.notOk(job.status?.active, 'nothing is active');
  const stopped = await waitFor(() => pods.events.find((e) => (e.object as V1Pod).status?.containerStatuses?.[0]?.state?.terminated), { what: 'the pod to report its container terminated' });
  t.equal((stopped.object as V1Pod).status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 143, 'the container ended by SIGTERM (143)');
});

t.test('ttlSecondsAfterFinished: 0 deletes the Job in the foreground', async (t) => {
  const jobWatch = await recordWatch(kc, `/apis/batch/v1/namespaces/${NS}/jobs`, { fieldSelector: 'metadata.name=ttl0', resourceVersion: '0' });
  const podWatch = await recordWatch(kc, `/api/v1/namespaces/${NS}/pods`, { labelSelector: 'job-name=ttl0', resourceVersion: '0' });
  t.teardown(() => {
    jobWatch.stop();
    podWatch.stop();
  });
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('ttl0', 'echo done', { ttlSecondsAfterFinished: 0 }) });
  const jobDeleted = await jobWatch.next(named('DELETED', 'ttl0'), 'the Job to be deleted by the TTL controller');
  const podDeleted = await podWatch.next((e) => e.type === 'DELETED', 'the pod to be deleted');

  const marked = jobWatch.events.find((e) => e.type === 'MODIFIED' && e.object.metadata?.finalizers?.includes('foregroundDeletion'));
  t.ok(marked, 'the Job carried the foregroundDeletion finalizer');
  t.ok(marked?.object.metadata?.deletionTimestamp, 'with a deletionTimestamp');
  t.ok(
    jobWatch.events.some((e) => conditionOf(e.object as V1Job, 'Complete')?.status === 'True'),
    'the Job completed before it was deleted',
  );
  // resourceVersions of the local store are one global counter: they order events of both watches.
  const rv = (e: { object: { metadata?: { resourceVersion?: string } } }): number => Number(e.object.metadata?.resourceVersion);
  t.ok(rv(marked!) < rv(podDeleted), 'the Job was marked for foreground deletion before its pod went');
  t.ok(rv(podDeleted) < rv(jobDeleted), 'the pod was gone before the Job was');
});

t.test('ttlSecondsAfterFinished: 1 keeps the Job for a second after it finished', async (t) => {
  const jobWatch = await recordWatch(kc, `/apis/batch/v1/namespaces/${NS}/jobs`, { fieldSelector: 'metadata.name=ttl1' });
  t.teardown(() => jobWatch.stop());
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('ttl1', 'echo done', { ttlSecondsAfterFinished: 1 }) });
  await jobWatch.next(named('DELETED', 'ttl1'), 'the Job to be deleted a second after it finished', 5_000);
  const deletedAt = Date.now();
  const completed = jobWatch.events.find((e) => conditionOf(e.object as V1Job, 'Complete')?.status === 'True');
  t.ok(completed, 'the Job was seen Complete before it was deleted');
  const finishedAt = Date.parse(String((completed?.object as V1Job | undefined)?.status?.completionTime));
  t.ok(deletedAt >= finishedAt + 1_000, `deleted ${deletedAt - finishedAt} ms after the (second-precision) completion time`);
  await waitFor(async () => (await podsOf('ttl1')).length === 0, { what: 'the pods of ttl1 to be gone' });
});

t.test('suspend: no pods while suspended, resumed on unsuspend, pods removed on suspend', async (t) => {
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('suspended', 'echo resumed', { suspend: true }) });
  const suspended = await waitForCondition('suspended', 'Suspended');
  t.match(conditionOf(suspended, 'Suspended'), { reason: 'JobSuspended' });
  t.equal((await podsOf('suspended')).length, 0, 'a suspended Job has no pods');
  t.notOk(suspended.status?.startTime, 'and has not started');

  await batch.patchNamespacedJob({ namespace: NS, name: 'suspended', body: { spec: { suspend: false } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const done = await waitForCondition('suspended', 'Complete');
  t.match(conditionOf(done, 'Suspended'), { status: 'False', reason: 'JobResumed' });
  t.equal(done.status?.succeeded, 1);

  await batch.createNamespacedJob({ namespace: NS, body: shellJob('to-suspend', 'sleep 30') });
  const pod = await waitFor(async () => (await podsOf('to-suspend')).find((p) => containerPid(p) !== undefined), { what: 'the to-suspend pod to start' });
  const pid = containerPid(pod)!;
  await batch.patchNamespacedJob({ namespace: NS, name: 'to-suspend', body: { spec: { suspend: true } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const nowSuspended = await waitForCondition('to-suspend', 'Suspended');
  t.notOk(nowSuspended.status?.active, 'no active pods once suspended');
  await waitFor(() => !processAlive(pid), { what: 'the suspended Job\'s process to stop' });
  await waitFor(async () => (await podsOf('to-suspend')).length === 0, { what: 'the suspended Job\'s pod to be deleted' });
  t.pass('suspending a running Job deleted its pod');
  await batch.deleteNamespacedJob({ namespace: NS, name: 'to-suspend', propagationPolicy: 'Background' });
});

t.test('init containers run in order before the main container', async (t) => {
  const job = shellJob('with-init', 'echo main; cat order', {}, {
    initContainers: [shellContainer('init-one', 'echo first init; echo one >> order'), shellContainer('init-two', 'echo second init; echo two >> order')],
  });
  await batch.createNamespacedJob({ namespace: NS, body: job });
  await waitForCondition('with-init', 'Complete');
  const [pod] = await podsOf('with-init');
  const name = pod!.metadata!.name!;
  t.equal((await podLog(name, 'container=main')).text, 'main\none\ntwo\n', 'the main container saw both init containers\' writes, in order');
  t.equal((await podLog(name, 'container=init-one')).text, 'first init\n', 'init-one\'s log');
  t.equal((await podLog(name, 'container=init-two')).text, 'second init\n', 'init-two\'s log');
  t.same(
    pod!.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.reason]),
    [['init-one', 'Completed'], ['init-two', 'Completed']],
  );
  const noName = await podLog(name);
  t.equal(noName.status, 200, 'with one main container, container= may be left out');
  t.equal(noName.text, 'main\none\ntwo\n');
});

t.test('a failing init container fails the pod without running the main container', async (t) => {
  const job = shellJob('init-fails', 'echo should not run', { backoffLimit: 0 }, { initContainers: [shellContainer('broken', 'echo broken; exit 1')] });
  await batch.createNamespacedJob({ namespace: NS, body: job });
  await waitForCondition('init-fails', 'Failed');
  const [pod] = await podsOf('init-fails');
  t.equal(pod?.status?.phase, 'Failed');
  t.equal(pod?.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode, 1);
  t.notOk(pod?.status?.containerStatuses?.[0]?.state?.terminated, 'the main container never ran');
});

t.test('completions and parallelism: three pods, at most two at a time', async (t) => {
  const pods = await recordWatch(kc, `/api/v1/namespaces/${NS}/pods`, { labelSelector: 'job-name=parallel' });
  t.teardown(() => pods.stop());
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('parallel', 'echo one of three', { completions: 3, parallelism: 2 }) });
  const job = await waitForCondition('parallel', 'Complete');
  t.equal(job.status?.succeeded, 3);
  t.equal((await podsOf('parallel')).length, 3, 'three pods, no more');
  // Replay the watch: count the pods that were neither finished nor deleted at each point.
  const live = new Map<string, boolean>();
  let most = 0;
  for (const e of pods.events) {
    const pod = e.object as V1Pod;
    const running = e.type !== 'DELETED' && !['Succeeded', 'Failed'].includes(pod.status?.phase ?? '');
    live.set(pod.metadata?.name ?? '', running);
    most = Math.max(most, [...live.values()].filter(Boolean).length);
  }
  t.ok(most <= 2, `at most two pods ran at once (${most})`);
});

t.test('deleting a running Job pod counts as a failure and the Job replaces it', async (t) => {
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('replaced', 'sleep 30', { backoffLimit: 3 }) });
  const first = await waitFor(async () => (await podsOf('replaced')).find((p) => containerPid(p) !== undefined), { what: 'the first pod to start' });
  await core.deleteNamespacedPod({ namespace: NS, name: first.metadata!.name! });
  const replacement = await waitFor(async () => (await podsOf('replaced')).find((p) => p.metadata?.name !== first.metadata?.name && containerPid(p) !== undefined), {
    what: 'a replacement pod to start',
  });
  t.not(replacement.metadata?.name, first.metadata?.name, 'a new pod runs');
  const job = await waitFor(async () => {
    const current = await readJob('replaced');
    return current.status?.failed === 1 ? current : undefined;
  }, { what: 'the Job to count the deleted pod as failed' });
  t.equal(job.status?.active, 1, 'one pod is active');
  await batch.deleteNamespacedJob({ namespace: NS, name: 'replaced', propagationPolicy: 'Orphan' });
  await core.deleteNamespacedPod({ namespace: NS, name: replacement.metadata!.name!, gracePeriodSeconds: 0 });
});

t.test('restartPolicy OnFailure: container restarts count against backoffLimit', async () => {
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('crashloop', 'echo crash; exit 1', { backoffLimit: 2 }, { restartPolicy: 'OnFailure' }) });
  const job = await waitForCondition('crashloop', 'Failed', 3_000);
  assert.equal(conditionOf(job, 'Failed')?.reason, 'BackoffLimitExceeded');
  await waitFor(async () => (await podsOf('crashloop')).every((p) => p.metadata?.deletionTimestamp || ['Succeeded', 'Failed'].includes(p.status?.phase ?? '')), {
    what: 'the crash-looping pod to be stopped',
  });
});
