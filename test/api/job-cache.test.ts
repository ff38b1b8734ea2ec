/**
 * The API's job cache against local-cluster: managed Jobs only, their pods
 * and Events joined to them, status memoised and recomputed on change,
 * listeners told, and a deleted Job leaving its last status as a tombstone.
 */
import t from 'tap';
import pino from 'pino';
import { JobCache } from '../../api/kube/job-cache.js';
import { JobClient } from '../../api/kube/job-client.js';
import { KubeHttp } from '../../lib/kube/http.js';
import { ANNOTATION_BYTES_KEPT, omittedAnnotations } from '../../api/kube/job-projection.js';
import { jobResult } from '../../api/jobs/result-source.js';
import type { ApiContext } from '../../api/context.js';
import { ANNOTATIONS } from '../../lib/contract.js';
import { selectionOf } from '../../lib/archive/history-layout.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { jobsPath, podsPath, shellJob, testApi } from '../controller/helpers/kube.js';

const NS = 'cache';

t.test('job cache', async (t) => {
  const cluster = await startTestCluster(t, { namespaces: [NS] });
  const api = testApi(cluster);
  t.teardown(() => api.close());
  const cache = new JobCache({ kubeConfig: cluster.kubeConfig(), namespace: NS, jobNamePrefix: 'pygeoapi-job-', logger: pino({ level: 'silent' }) });
  await cache.start();
  t.teardown(() => cache.stop());
  t.equal(cache.synced, true);
  const told: string[] = [];
  const unsubscribe = cache.subscribe((id) => told.push(id));

  await api.create(jobsPath(NS), shellJob('unmanaged', { labels: false, finalizer: false, containers: [{ name: 'main', script: 'echo hi' }] }));
  await api.create(
    jobsPath(NS),
    shellJob('pygeoapi-job-one', { finalizer: false, containers: [{ name: 'main', script: 'sleep 0.3; echo one' }], annotations: { 'pygeoapi.io/identifier': 'one' } }),
  );
  const done = await waitFor(() => (cache.status('one')?.status === 'successful' ? cache.status('one') : undefined), { what: 'job one to succeed in the cache' });
  t.equal(done!.jobID, 'one');
  t.ok(told.includes('one'), 'listeners are told about changes of the job');
  t.equal(cache.status('unmanaged'), undefined, 'a Job that is not ours is not cached');
  t.equal(cache.job('unmanaged'), undefined);

  const job = cache.job('one')!;
  t.equal(job.metadata?.name, 'pygeoapi-job-one');
  const objects = cache.objects(job);
  t.equal(objects.pods.length, 1, "the Job's pod is joined to it");

  await waitFor(() => cache.objects(job).events.length > 0, { what: "the pod's Events to be joined to the job" });
  t.equal(cache.status('one'), cache.status('one'), 'the status is memoised');

  await api.create(
    jobsPath(NS),
    shellJob('pygeoapi-job-two', { finalizer: false, containers: [{ name: 'main', script: 'sleep 30' }], annotations: { 'pygeoapi.io/identifier': 'two', 'pygeoapi.io/owner': 'alice' } }),
  );
  await waitFor(() => cache.status('two')?.status === 'running', { what: 'job two to run' });

  // Labels (and a non-controlling ownerReference) do not make a pod part of a Job: only its controlling ownerReference does.
  const jobTwo = cache.job('two')!;
  const uid = jobTwo.metadata!.uid!;
  const claims = { 'job-name': 'pygeoapi-job-two', 'controller-uid': uid, 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'pygeoapi-job-two' };
  const bare = (name: string, metadata: Record<string, unknown>) => ({ metadata: { name, ...metadata }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'x', command: ['true'] }] } });
  await api.create(podsPath(NS), bare('labels-only', { labels: claims }));
  await api.create(podsPath(NS), bare('not-controlling', { labels: claims, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pygeoapi-job-two', uid, controller: false }] }));
  // Then a change of the Job's own pod: once the cache has it, it has seen the two pods before it (one watch, in order).
  const ownPod = cache.objects(jobTwo).pods[0]!;
  await api.mergePatch(`${podsPath(NS)}/${ownPod.metadata!.name!}`, { metadata: { labels: { seen: 'yes' } } });
  await waitFor(() => cache.objects(jobTwo).pods.some((p) => p.metadata?.labels?.seen === 'yes'), { what: 'the change of the Job’s pod to reach the cache' });
  t.same(cache.objects(jobTwo).pods.map((p) => p.metadata?.name), [ownPod.metadata!.name], 'only the pod with the controlling ownerReference is joined to the Job');
  const all = cache.allStatuses();
  t.same(
    all.map((s) => s.jobID),
    ['two', 'one'],
    'every job, newest first',
  );
  t.same(
    Array.from({ length: cache.listed().length }, (_, i) => cache.listed().at(i)!.jobID),
    ['two', 'one'],
    'the ordered view walks the same order',
  );
  t.equal(cache.listed().at(2), undefined, 'past the end there is nothing');
  const running = selectionOf({ status: ['running'] })!;
  const ids = (view: { length: number; at(i: number): { jobID: string } | undefined }): string[] => Array.from({ length: view.length }, (_, i) => view.at(i)!.jobID);
  const runningView = cache.listedWhere(running);
  t.same(ids(runningView), ['two'], 'a selection lists the jobs it keeps, in order');
  t.equal(cache.listedWhere(selectionOf({ status: ['running'] })!), runningView, 'and is kept while no job changes');
  t.same(ids(cache.listedWhere(selectionOf({ processID: ['nope'] })!)), [], 'a selection nothing matches is empty');

  await api.remove(`${jobsPath(NS)}/pygeoapi-job-two`, { propagationPolicy: 'Background' });
  await waitFor(() => cache.job('two') === undefined, { what: 'job two to go from the cache' });
  t.equal(cache.status('two')?.status, 'dismissed', 'a Job deleted before it finished is remembered as dismissed');
  t.same(ids(cache.listedWhere(running)), [], 'a selection is made anew after a change');
  t.same(ids(cache.listedWhere(selectionOf({ status: ['dismissed'] })!)), ['two'], 'and sees the new status');
  t.equal(cache.owner('two'), 'alice', 'and keeps its owner (access does not change before the archived record lands)');
  t.equal(cache.owner('one'), undefined, 'a Job without an owner annotation has none');
  t.same(
    cache.allStatuses().map((s) => s.jobID),
    ['two', 'one'],
    'the tombstone is still listed',
  );
  unsubscribe();
  const before = told.length;
  await api.mergePatch(`${jobsPath(NS)}/pygeoapi-job-one`, { metadata: { annotations: { touched: 'yes' } } });
  await waitFor(() => cache.job('one')?.metadata?.annotations?.touched === 'yes', { what: 'the change to reach the cache' });
  t.equal(told.length, before, 'an unsubscribed listener is not told');

  // A result too large for the cache is read from the API server when asked for.
  const large = 'r'.repeat(ANNOTATION_BYTES_KEPT * 2);
  await api.mergePatch(`${jobsPath(NS)}/pygeoapi-job-one`, { metadata: { annotations: { [ANNOTATIONS.resultValue]: large, [ANNOTATIONS.resultMimetype]: 'text/plain' } } });
  await waitFor(() => cache.job('one')?.metadata?.annotations?.[ANNOTATIONS.resultMimetype] === 'text/plain', { what: 'the result to reach the cache' });
  const cached = cache.job('one')!;
  t.equal(cached.metadata?.annotations?.[ANNOTATIONS.resultValue], undefined, 'the large result is not in the cache');
  t.same(omittedAnnotations(cached), [ANNOTATIONS.resultValue], 'it is named as left out');
  const context = { client: new JobClient(new KubeHttp(cluster.kubeConfig()), NS), config: { settings: { jobNamePrefix: 'pygeoapi-job-' } }, logger: pino({ level: 'silent' }) } as unknown as ApiContext;
  const result = await jobResult(context, 'one', { status: cache.status('one')!, job: cached });
  t.equal(result?.value, large, 'the result is read on demand, whole');
  t.equal(result?.mimetype, 'text/plain');
});
