/**
 * The controller under failure: S3 down, bucket not configured, and the API
 * server dropping, expiring, stalling and failing watches. No log may be
 * lost and no finalizer released early.
 */
import t from 'tap';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import type { JobRecord } from '../../lib/archive/layout.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { FINALIZER, jobsPath, podsOfJob, shellJob, testApi, type TestApi } from './helpers/kube.js';
import { startTestS3, type TestS3 } from './helpers/s3.js';
import { bucketEnv, PREFIX, startTestController } from './helpers/controller.js';

async function eventsFor(api: TestApi, ns: string, pod: string): Promise<CoreV1Event[]> {
  const list = await api.get<{ items: CoreV1Event[] }>(`/api/v1/namespaces/${ns}/events`);
  return list.items.filter((e) => e.involvedObject.name === pod);
}

async function record(s3: TestS3, ns: string, job: string): Promise<JobRecord | undefined> {
  const body = await s3.get(`${PREFIX}${ns}/${job}/job.json`);
  return body ? (JSON.parse(body.toString('utf8')) as JobRecord) : undefined;
}

t.test('resilience', async (t) => {
  const namespaces = ['s3-down', 'unconfigured', 'faults'];
  // Logs vanish from the node as soon as a deleted pod's containers stopped; bookmarks come often.
  const cluster = await startTestCluster(t, { namespaces, containerRemovalDelayMs: 0, bookmarkIntervalMs: 100 });
  const api = testApi(cluster);
  t.teardown(() => api.close());

  t.test('S3 down for a while: finalizer held, Event emitted, archived from the spool once S3 is back', async (t) => {
    const ns = 's3-down';
    const s3 = await startTestS3(t);
    const controller = await startTestController(t, { kubeConfig: cluster.kubeConfig(), namespaces: [ns], env: bucketEnv(s3.endpoint) });
    await waitFor(() => controller.isLeader(), { what: 'the controller to lead' });
    await s3.stop();

    const printed = Array.from({ length: 200 }, (_, i) => `line ${i} of a job whose archive must wait for S3`).join('\n') + '\n';
    await api.create(jobsPath(ns), shellJob('waits', { containers: [{ name: 'main', script: `sleep 0.3; i=0; while [ $i -lt 200 ]; do echo "line $i of a job whose archive must wait for S3"; i=$((i+1)); done` }] }));
    const pod = await waitFor(async () => (await podsOfJob(api, ns, 'waits')).find((p) => p.status?.phase === 'Succeeded'), { what: 'the job to finish' });
    const podName = pod.metadata!.name!;
    await waitFor(async () => (await eventsFor(api, ns, podName)).find((e) => e.reason === 'LogArchiveFailed'), { what: 'a LogArchiveFailed Event' });
    t.ok((await controller.metric('k8s_job_manager_controller_log_archives_total', { result: 'failed' })) >= 1, 'failed attempts are counted');

    // The Job goes; its pod is deleted and its logs leave the node at once, but the pod is held.
    await api.remove(`${jobsPath(ns)}/waits`, { propagationPolicy: 'Background' });
    const held = await waitFor(async () => (await podsOfJob(api, ns, 'waits')).find((p) => p.metadata?.deletionTimestamp), { what: 'the pod to be deleting' });
    t.ok(held.metadata?.finalizers?.includes(FINALIZER), 'the finalizer holds the pod while S3 is down');
    t.notOk(held.metadata?.annotations?.['pygeoapi.io/log-archive']);
    await waitFor(async () => (await controller.metric('k8s_job_manager_controller_oldest_held_finalizer_seconds')) > 0.3, {
      what: 'the held-finalizer age to grow',
    });

    await s3.restart();
    // The finalizer goes only after the upload was verified, so the object is complete from then on.
    await waitFor(async () => (await podsOfJob(api, ns, 'waits')).every((p: V1Pod) => !p.metadata?.finalizers?.includes(FINALIZER)), {
      what: 'the finalizer to be released once S3 is back',
      timeoutMs: 15_000,
    });
    const log = await s3.get(`${PREFIX}${ns}/waits/${podName}/main.log`);
    t.equal(log?.toString('utf8'), printed, 'archived byte-identical from the spool, after the node lost the logs');
    t.equal((await record(s3, ns, 'waits'))?.status.status, 'successful', 'the Job finished before it was deleted');
  });

  t.test('missing bucket configuration: one error per variable, finalizers kept, then the give-up deadline', async (t) => {
    const ns = 'unconfigured';
    const env = {
      ...bucketEnv('http://unused', {
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: undefined,
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: undefined,
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: undefined,
        PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: undefined,
      }),
      PYGEOAPI_K8S_MANAGER_FINALIZER_GIVE_UP_SECONDS: '2',
    };
    const controller = await startTestController(t, { kubeConfig: cluster.kubeConfig(), namespaces: [ns], env });
    const errors = controller.logs.filter((l) => l.level === 50).map((l) => String(l.msg));
    t.equal(errors.length, 3, 'one error per missing variable (the endpoint is optional: AWS S3)');
    for (const name of ['KEY', 'SECRET', 'NAME']) {
      t.equal(errors.filter((m) => m.startsWith(`PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_${name} is not set`)).length, 1, `names ${name}`);
    }
    t.ok(controller.ready(), 'the controller runs anyway');
    await waitFor(() => controller.isLeader(), { what: 'the controller to lead' });

    await api.create(jobsPath(ns), shellJob('kept', { finalizer: false, containers: [{ name: 'main', script: 'sleep 0.3; echo kept' }] }));
    const pod = await waitFor(
      async () => (await podsOfJob(api, ns, 'kept')).find((p) => p.status?.phase === 'Succeeded' && p.metadata?.finalizers?.includes(FINALIZER)),
      { what: 'the finished pod to hold our finalizer (added by the controller)' },
    );
    const podName = pod.metadata!.name!;
    const event = await waitFor(async () => (await eventsFor(api, ns, podName)).find((e) => e.reason === 'LogArchiveNotConfigured'), {
      what: 'a LogArchiveNotConfigured Event',
    });
    t.match(event.message, /PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY/);
    t.equal(event.type, 'Warning');

    await api.remove(`${jobsPath(ns)}/kept`, { propagationPolicy: 'Background' });
    await waitFor(async () => (await controller.metric('k8s_job_manager_controller_oldest_held_finalizer_seconds')) > 1, {
      what: 'the deleted pod to be held for a second',
    });
    const stillHeld = (await podsOfJob(api, ns, 'kept'))[0];
    t.ok(stillHeld?.metadata?.finalizers?.includes(FINALIZER), 'held after deletion while the archive is not configured');
    // After the give-up deadline (2 s here) the finalizer goes, with a Warning and a metric.
    await waitFor(async () => (await podsOfJob(api, ns, 'kept')).length === 0, { what: 'the pod to be released after the deadline', timeoutMs: 5_000 });
    t.ok((await eventsFor(api, ns, podName)).some((e) => e.reason === 'LogArchiveGaveUp' && e.type === 'Warning'), 'a LogArchiveGaveUp Warning');
    t.equal(await controller.metric('k8s_job_manager_controller_log_archives_total', { result: 'gave_up' }), 1);
  });

  t.test('watch drops, 410s, stalls and 5xx: no pod missed', async (t) => {
    const ns = 'faults';
    const s3 = await startTestS3(t);
    const controller = await startTestController(t, {
      kubeConfig: cluster.kubeConfig(),
      namespaces: [ns],
      env: bucketEnv(s3.endpoint),
      // The periodic full resync is the controller's safety net for anything a fault swallowed; the
      // waits below allow one resync period. (test/lib/kube-reflector.test.ts checks that the
      // watches themselves lose nothing under each fault.) A rare CI run needed the resync here.
      tuning: { watch: { resyncIntervalMs: 5_000, stallTimeoutMs: 600, watchTimeoutSeconds: 30, backoff: { baseMs: 20, maxMs: 300 } } },
    });
    await waitFor(() => controller.isLeader(), { what: 'the controller to lead' });
    t.teardown(() => {
      cluster.faults.injectErrors(undefined);
      cluster.faults.stallWatches(false);
    });
    const job = async (name: string): Promise<void> => {
      await api.create(jobsPath(ns), shellJob(name, { containers: [{ name: 'main', script: `sleep 0.2; echo "output of ${name}"` }] }));
    };

    await job('j1');
    cluster.faults.dropWatches();
    await job('j2');

    // Watches hear nothing while history is compacted past them: the resume gets 410 and relists.
    cluster.faults.stallWatches(true);
    await job('j3');
    cluster.faults.expireResourceVersions();
    cluster.faults.dropWatches();
    cluster.faults.stallWatches(false);

    // A silent stall: only the watchdog notices.
    cluster.faults.stallWatches(true);
    await job('j4');
    await waitFor(async () => (await controller.metric('k8s_job_manager_controller_watch_restarts_total', { resource: 'pods' })) > 0, {
      what: 'the watchdog to restart a stalled watch',
    });
    // The hung connections die once the network recovers.
    cluster.faults.stallWatches(false);
    cluster.faults.dropWatches();

    // The API server fails half the reads for a while.
    cluster.faults.injectErrors({ share: 0.5, status: 503, match: /^GET .*\/(pods|jobs)/ });
    await job('j5');
    cluster.faults.dropWatches();
    await job('j6');
    await new Promise((resolve) => setTimeout(resolve, 500));
    cluster.faults.injectErrors(undefined);

    for (const name of ['j1', 'j2', 'j3', 'j4', 'j5', 'j6']) {
      const rec = await waitFor(() => record(s3, ns, name), { what: `the record of ${name}`, timeoutMs: 15_000 });
      t.equal((await s3.get(rec.logs[0]!.key))?.toString(), `output of ${name}\n`, `${name} archived`);
      await waitFor(async () => (await podsOfJob(api, ns, name)).every((p) => !p.metadata?.finalizers?.includes(FINALIZER)), {
        what: `${name}'s finalizer to be released`,
      });
    }
    t.ok((await controller.metric('k8s_job_manager_controller_watch_restarts_total', { resource: 'pods' })) >= 1, 'watch restarts are counted');
  });
});
