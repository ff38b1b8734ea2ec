/**
 * The controller's pod cache against a fake API server: which Job a pod
 * belongs to (cached, remembered as deleted, or asked for), the pods of a
 * Job, the tombstones' bound, lookups by key, the oldest held finalizer, and
 * the changes it hands on.
 */
import t, { type Test } from 'tap';
import pino from 'pino';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { PodCache, type JobInfo } from '../../controller/pod-cache.js';
import type { ReflectorEventType } from '../../lib/kube/reflector.js';
import { DEFAULT_TUNING } from '../../controller/settings.js';
import { LOG_FINALIZER } from '../../lib/contract.js';
import { FakeApi } from './helpers/fake-api.js';
import { waitFor } from '../helpers/wait-for.js';

const PODS = (ns: string): string => `/api/v1/namespaces/${ns}/pods`;
const JOBS = (ns: string): string => `/apis/batch/v1/namespaces/${ns}/jobs`;

function job(name: string, uid: string, finished = false, ns = 'ns'): V1Job {
  return {
    metadata: { name, namespace: ns, uid, resourceVersion: '1' },
    ...(finished ? { status: { conditions: [{ type: 'Complete', status: 'True' }] } } : {}),
  };
}

interface PodOptions {
  ns?: string;
  owner?: { name: string; uid: string };
  jobLabel?: string;
  deleting?: string;
  finalizer?: boolean;
}

function pod(name: string, options: PodOptions = {}): V1Pod {
  const { ns = 'ns', owner, jobLabel, deleting, finalizer } = options;
  return {
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${name}`,
      resourceVersion: '1',
      ...(owner ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: owner.name, uid: owner.uid, controller: true }] } : {}),
      ...(jobLabel ? { labels: { 'job-name': jobLabel } } : {}),
      ...(deleting ? { deletionTimestamp: new Date(deleting) } : {}),
      ...(finalizer ? { finalizers: [LOG_FINALIZER] } : {}),
    },
  };
}

/** What the API server holds as JSON (timestamps as strings), as a list or watch sends it. */
const wire = (o: unknown): unknown => JSON.parse(JSON.stringify(o));

interface Started {
  api: FakeApi;
  cache: PodCache;
  changes: string[];
  restarts: string[];
}

async function started(t: Test, setup: { pods?: V1Pod[]; jobs?: V1Job[]; namespaces?: string[]; objects?: Record<string, unknown> } = {}): Promise<Started> {
  const api = new FakeApi();
  const namespaces = setup.namespaces ?? ['ns'];
  for (const ns of namespaces) {
    api.lists.set(PODS(ns), (setup.pods ?? []).filter((p) => p.metadata?.namespace === ns).map(wire));
    api.lists.set(JOBS(ns), (setup.jobs ?? []).filter((j) => j.metadata?.namespace === ns).map(wire));
  }
  for (const [path, value] of Object.entries(setup.objects ?? {})) api.objects.set(path, typeof value === 'number' ? value : wire(value));
  const changes: string[] = [];
  const restarts: string[] = [];
  const record = (kind: string) => (type: ReflectorEventType, o: V1Pod | V1Job) => changes.push(`${kind} ${type} ${o.metadata?.name ?? ''}`);
  const cache = new PodCache({
    // Unused: the fake client answers everything.
    kubeConfig: undefined as never,
    http: api.http(),
    namespaces,
    watch: DEFAULT_TUNING.watch,
    logger: pino({ level: 'silent' }),
    onPod: record('pod'),
    onJob: record('job'),
    onWatchRestart: (resource) => restarts.push(resource),
  });
  t.teardown(() => cache.stop());
  await cache.start();
  // Watches open after the first list; events sent before would be lost.
  await waitFor(() => namespaces.every((ns) => api.watches.has(PODS(ns)) && api.watches.has(JOBS(ns))), { what: 'the watches to open' });
  return { api, cache, changes, restarts };
}

const gets = (api: FakeApi): string[] => api.calls.filter((c) => c.startsWith('GET') && !api.lists.has(c.slice(4)));

t.test('jobOf: the pod\'s Job, from the cache when it can, asked for when it must', async (t) => {
  const { cache, api } = await started(t, {
    jobs: [job('done', 'u-done', true), job('running', 'u-running'), job('renamed', 'u-new')],
    objects: {
      [`${JOBS('ns')}/late`]: job('late', 'u-late', true),
      [`${JOBS('ns')}/late-running`]: job('late-running', 'u-lr'),
      [`${JOBS('ns')}/renamed`]: job('renamed', 'u-new'),
      [`${JOBS('ns')}/broken`]: 500,
    },
  });
  const cases: Array<[string, V1Pod, Omit<JobInfo, 'job'> & { job?: string }, string[]]> = [
    ['no Job at all: settled', pod('p0'), { deleted: false, settled: true }, []],
    ['cached, finished', pod('p1', { owner: { name: 'done', uid: 'u-done' } }), { job: 'done', deleted: false, settled: true }, []],
    ['cached, running', pod('p2', { owner: { name: 'running', uid: 'u-running' } }), { job: 'running', deleted: false, settled: false }, []],
    ['by label only (Python-made pod), cached', pod('p3', { jobLabel: 'running' }), { job: 'running', deleted: false, settled: false }, []],
    ['the Job watch lags: asked for', pod('p4', { owner: { name: 'late', uid: 'u-late' } }), { job: 'late', deleted: false, settled: true }, [`GET ${JOBS('ns')}/late`]],
    ['asked for, still running', pod('p5', { jobLabel: 'late-running' }), { job: 'late-running', deleted: false, settled: false }, [`GET ${JOBS('ns')}/late-running`]],
    ['a new Job of the same name: ours was deleted', pod('p6', { owner: { name: 'renamed', uid: 'u-old' } }), { deleted: true, settled: true }, [`GET ${JOBS('ns')}/renamed`]],
    ['gone from the API server: deleted', pod('p7', { owner: { name: 'gone', uid: 'u-gone' } }), { deleted: true, settled: true }, [`GET ${JOBS('ns')}/gone`]],
  ];
  for (const [what, p, expected, calls] of cases) {
    const before = gets(api).length;
    const info = await cache.jobOf(p, new AbortController().signal);
    t.same({ job: info.job?.metadata?.name, deleted: info.deleted, settled: info.settled }, expected, what);
    t.same(gets(api).slice(before), calls, `${what}: requests`);
  }
  const asked = await cache.jobOf(pod('p4', { owner: { name: 'late', uid: 'u-late' } }), new AbortController().signal);
  t.ok(asked.job?.status?.conditions?.[0]?.type === 'Complete' && asked.job.metadata?.uid === 'u-late', 'a Job asked for is typed as the cached ones');
  await t.rejects(cache.jobOf(pod('p8', { owner: { name: 'broken', uid: 'u-b' } }), new AbortController().signal), { code: 500 }, 'other errors are not taken for "deleted"');
});

t.test('tombstones: a deleted Job is remembered until its last pod is gone', async (t) => {
  const j = job('j', 'u-j', true);
  const p1 = pod('p1', { owner: { name: 'j', uid: 'u-j' } });
  const p2 = pod('p2', { owner: { name: 'j', uid: 'u-j' } });
  const { cache, api, changes } = await started(t, { jobs: [j], pods: [p1, p2] });
  api.event(JOBS('ns'), 'DELETED', wire(j));
  await waitFor(() => changes.includes('job DELETED j'), { what: 'the Job deletion' });
  const remembered = await cache.jobOf(p1, new AbortController().signal);
  t.same({ job: remembered.job?.metadata?.uid, deleted: remembered.deleted, settled: remembered.settled }, { job: 'u-j', deleted: true, settled: true }, 'the deleted Job, without asking');
  t.same(gets(api), [], 'no request');

  api.event(PODS('ns'), 'DELETED', wire(p1));
  await waitFor(() => changes.includes('pod DELETED p1'), { what: 'the first pod deletion' });
  t.equal((await cache.jobOf(p2, new AbortController().signal)).job?.metadata?.uid, 'u-j', 'kept while a pod of the Job is left');
  t.same(gets(api), [], 'still no request');

  api.event(PODS('ns'), 'DELETED', wire(p2));
  await waitFor(() => changes.includes('pod DELETED p2'), { what: 'the last pod deletion' });
  const after = await cache.jobOf(p2, new AbortController().signal);
  t.same({ job: after.job, deleted: after.deleted }, { job: undefined, deleted: true }, 'forgotten with the last pod: the API server is asked (404)');
  t.same(gets(api), [`GET ${JOBS('ns')}/j`]);
});

t.test('the pods of a Job: by name, and by uid when given', async (t) => {
  const { cache } = await started(t, {
    pods: [
      pod('a1', { owner: { name: 'a', uid: 'u-a' } }),
      pod('a2', { owner: { name: 'a', uid: 'u-a-old' } }),
      pod('a3', { jobLabel: 'a' }),
      pod('b1', { owner: { name: 'b', uid: 'u-b' } }),
      pod('x', { ns: 'other', owner: { name: 'a', uid: 'u-a' } }),
    ],
    namespaces: ['ns', 'other'],
  });
  const names = (pods: V1Pod[]): string[] => pods.map((p) => p.metadata?.name ?? '').sort();
  const cases: Array<[string, string, string | undefined, string[]]> = [
    ['by name: every uid, and pods known by label', 'a', undefined, ['a1', 'a2', 'a3']],
    ['by uid: that Job, and pods whose uid is not known', 'a', 'u-a', ['a1', 'a3']],
    ['another Job', 'b', undefined, ['b1']],
    ['no such Job', 'c', undefined, []],
  ];
  for (const [what, name, uid, expected] of cases) t.same(names(cache.podsOfJob('ns', name, uid)), expected, what);
  t.same(names(cache.podsOfJob('other', 'a')), ['x'], 'per namespace');
});

t.test('pods by key across the watched namespaces', async (t) => {
  const { cache } = await started(t, { pods: [pod('p', { ns: 'ns' }), pod('q', { ns: 'other' })], namespaces: ['ns', 'other'] });
  const cases: Array<[string, string | undefined]> = [
    ['ns/p', 'p'],
    ['other/q', 'q'],
    ['ns/q', undefined],
    ['unwatched/p', undefined],
    ['p', undefined],
  ];
  for (const [key, expected] of cases) t.equal(cache.pod(key)?.metadata?.name, expected, key);
  t.same(cache.allPods().map((p) => p.metadata?.name).sort(), ['p', 'q']);
});

t.test('the oldest held finalizer counts only pods being deleted that carry it', async (t) => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  const { cache } = await started(t, {
    pods: [
      pod('held-5min', { deleting: '2026-01-01T00:05:00Z', finalizer: true }),
      pod('held-1min', { deleting: '2026-01-01T00:09:00Z', finalizer: true }),
      pod('deleting-without', { deleting: '2026-01-01T00:00:00Z' }),
      pod('not-deleting', { finalizer: true }),
    ],
  });
  t.equal(cache.oldestHeldFinalizerSeconds(now), 300);
  const { cache: empty } = await started(t, { pods: [pod('not-deleting', { finalizer: true })] });
  t.equal(empty.oldestHeldFinalizerSeconds(now), 0, 'none held: 0');
});

t.test('changes are handed on; a watch restart is reported by resource', async (t) => {
  const { cache, api, changes, restarts } = await started(t, { pods: [pod('p1')], jobs: [job('j1', 'u1')] });
  t.ok(cache.synced, 'synced after start');
  t.same(changes.sort(), ['job ADDED j1', 'pod ADDED p1'], 'the first lists');
  api.event(PODS('ns'), 'MODIFIED', wire({ ...pod('p1'), metadata: { ...pod('p1').metadata, resourceVersion: '2' } }));
  await waitFor(() => changes.includes('pod MODIFIED p1'), { what: 'the pod change' });
  api.event(JOBS('ns'), 'ERROR', { kind: 'Status', code: 410, message: 'too old' });
  await waitFor(() => restarts.length > 0, { what: 'a watch restart' });
  t.same(restarts, ['jobs'], 'named by resource');
});
