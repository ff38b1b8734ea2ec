/**
 * A cluster with a state folder survives a restart as one on etcd does:
 * objects, uids and resourceVersions (which keep increasing), the CA, the
 * administrator's and ServiceAccounts' tokens; watches resume from a version
 * the journal still holds and get 410 Gone for one a snapshot compacted; pods
 * that were running come back failed as the kubelet reports lost containers,
 * the Job controller counts that failure, and their logs are still served.
 */
import t from 'tap';
import { mkdtempSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../local-cluster/index.js';
import { conditionOf, rawRequest, shellJob, shellPod } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { recordWatch } from '../helpers/watch.js';

const NS = 'work';
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'local-cluster-state-'));
const options: LocalClusterOptions = { stateDir, namespaces: [NS], containerRemovalDelayMs: 60_000, jobBackoffBaseMs: 50, restartBackoffBaseMs: 50 };

let running: LocalCluster | undefined;
t.teardown(() => running?.stop());
async function start(extra: LocalClusterOptions = {}): Promise<LocalCluster> {
  running = await startLocalCluster({ ...options, ...extra, port: 0 });
  return running;
}
async function stop(): Promise<void> {
  await running?.stop();
  running = undefined;
}

const clients = (cluster: LocalCluster) => {
  const kc = cluster.kubeConfig();
  return { core: kc.makeApiClient(CoreV1Api), batch: kc.makeApiClient(BatchV1Api) };
};
const podOf = async (cluster: LocalCluster, job: string): Promise<V1Pod | undefined> =>
  (await clients(cluster).core.listNamespacedPod({ namespace: NS, labelSelector: `job-name=${job}` })).items[0];

t.test('objects, versions, credentials and running pods across restarts', async (t) => {
  let cluster = await start();
  const { core, batch } = clients(cluster);
  const config = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'settings' }, data: { a: '1' } } });
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'worker' } } });
  const saToken = await cluster.createToken(NS, 'worker');
  const adminYaml = cluster.kubeconfigYaml();
  const caPem = cluster.caPem;
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('long', 'echo started; sleep 600', { backoffLimit: 0 }) });
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('done', 'echo finished') });
  await core.createNamespacedPod({ namespace: NS, body: shellPod('always', 'sleep 600', { restartPolicy: 'Always' }) });
  const runningPod = await waitFor(async () => {
    const pod = await podOf(cluster, 'long');
    return pod?.status?.phase === 'Running' ? pod : undefined;
  }, { what: 'the long job\'s pod to run' });
  await waitFor(async () => conditionOf(await batch.readNamespacedJob({ namespace: NS, name: 'done' }), 'Complete')?.status === 'True', { what: 'job done to complete' });
  await waitFor(async () => (await rawRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/pods/${runningPod.metadata!.name}/log`)).text === 'started\n', { what: 'the long pod\'s log line' });
  await waitFor(async () => (await core.readNamespacedPod({ namespace: NS, name: 'always' })).status?.phase === 'Running', { what: 'the Always pod to run' });
  const lastVersion = Number((await core.listNamespacedPod({ namespace: NS })).metadata!.resourceVersion);
  await stop();

  cluster = await start();
  const after = clients(cluster);
  t.equal(cluster.caPem, caPem, 'the same CA');
  t.equal(cluster.kubeconfigYaml().match(/token: (.*)/)?.[1], adminYaml.match(/token: (.*)/)?.[1], 'the same administrator token');
  const sameConfig = await after.core.readNamespacedConfigMap({ namespace: NS, name: 'settings' });
  t.equal(sameConfig.metadata!.uid, config.metadata!.uid, 'the object with its uid');
  t.equal(sameConfig.metadata!.resourceVersion, config.metadata!.resourceVersion, 'and its resourceVersion');
  t.same(sameConfig.data, { a: '1' });
  const whoami = await rawRequest(cluster, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, token: saToken });
  t.equal(whoami.status, 201, `a token issued before the restart authenticates: ${whoami.text}`);
  t.match(whoami.json(), { status: { userInfo: { username: `system:serviceaccount:${NS}:worker` } } });

  const changed = await after.core.replaceNamespacedConfigMap({ namespace: NS, name: 'settings', body: { ...sameConfig, data: { a: '2' } } });
  t.ok(Number(changed.metadata!.resourceVersion) > lastVersion, `resourceVersions keep increasing (${changed.metadata!.resourceVersion} > ${lastVersion})`);

  // The pod's process died with the restart: the kubelet reports the container lost, the Job counts the failure.
  const failed = await waitFor(async () => {
    const pod = await podOf(cluster, 'long');
    return pod?.status?.phase === 'Failed' ? pod : undefined;
  }, { what: 'the long pod to be marked failed' });
  t.equal(failed.metadata!.uid, runningPod.metadata!.uid, 'the same pod, not forgotten');
  t.match(failed.status!.containerStatuses![0]!.state!.terminated, { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' });
  const job = await waitFor(async () => {
    const j = await after.batch.readNamespacedJob({ namespace: NS, name: 'long' });
    return conditionOf(j, 'Failed')?.status === 'True' ? j : undefined;
  }, { what: 'the long job to fail' });
  t.equal(job.status!.failed, 1, 'the failure is counted');
  t.equal(conditionOf(job, 'Failed')!.reason, 'BackoffLimitExceeded');
  // Deviation (README): a real kubelet would start an Always pod's container again; here it is failed too.
  const always = await waitFor(async () => {
    const pod = await after.core.readNamespacedPod({ namespace: NS, name: 'always' });
    return pod.status?.phase === 'Failed' ? pod : undefined;
  }, { what: 'the restartPolicy Always pod to be reported failed' });
  t.equal(always.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'ContainerStatusUnknown');
  const finished = await after.batch.readNamespacedJob({ namespace: NS, name: 'done' });
  t.equal(conditionOf(finished, 'Complete')?.status, 'True', 'a finished job stays complete');
  const log = await rawRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/pods/${failed.metadata!.name}/log`);
  t.equal(log.text, 'started\n', 'the log written before the restart is served');
  const donePod = await podOf(cluster, 'done');
  t.equal((await rawRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/pods/${donePod!.metadata!.name}/log`)).text, 'finished\n', 'and a finished pod\'s');

  // The journal still holds these versions: a watch resumes from before the restart.
  const watch = await recordWatch(cluster.kubeConfig(), `/api/v1/namespaces/${NS}/configmaps`, { resourceVersion: config.metadata!.resourceVersion });
  t.teardown(() => watch.stop());
  const modified = await watch.next((e) => e.type === 'MODIFIED' && e.object.metadata?.name === 'settings', 'the change made after the restart');
  t.equal(modified.object.metadata!.resourceVersion, changed.metadata!.resourceVersion);
  watch.stop();
  await stop();
});

t.test('after a snapshot compacted the log, older versions get 410 and objects still come back', async (t) => {
  // A tiny log bound: nearly every write takes a snapshot.
  let cluster = await start({ journalCompactionBytes: 1 });
  const { core } = clients(cluster);
  const first = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'compacted' }, data: { n: '0' } } });
  for (let n = 1; n <= 5; n++) await core.patchNamespacedConfigMap({ namespace: NS, name: 'compacted', body: [{ op: 'replace', path: '/data/n', value: String(n) }] });
  await stop();
  // A write cut short by a crash: half a record at the end of the log.
  appendFileSync(path.join(stateDir, 'store', 'wal.jsonl'), '{"rv":999999,"op":"put","resou');

  cluster = await start();
  const again = await clients(cluster).core.readNamespacedConfigMap({ namespace: NS, name: 'compacted' });
  t.same(again.data, { n: '5' }, 'the last write is there; the torn record is dropped');
  t.ok(Number(again.metadata!.resourceVersion) < 999_999, 'and did not advance the revision');
  const gone = await rawRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/configmaps?watch=1&resourceVersion=${first.metadata!.resourceVersion}`);
  t.equal(gone.status, 200);
  t.match(gone.text, /"type":"ERROR".*"code":410/s, 'a watch from a compacted version ends with 410 Gone');
  await stop();
});
