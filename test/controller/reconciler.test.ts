/**
 * The reconciler with fakes for its I/O (cache, finalizers, Events, the log
 * stream): for each state of a pod, which finalizer calls, Events, re-queues
 * and metrics follow. The archive itself (S3) is covered end to end in
 * archive-e2e.test.ts; here, what leads to it and what it must not do.
 */
import t, { type Test } from 'tap';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { V1Pod } from '@kubernetes/client-node';
import { Reconciler } from '../../controller/reconciler.js';
import type { ArchiveContext } from '../../controller/archive-pod.js';
import type { PodEvents } from '../../controller/events.js';
import { controllerMetrics } from '../../controller/metrics.js';
import type { JobInfo, PodCache } from '../../controller/pod-cache.js';
import type { PodFinalizers } from '../../controller/pod-finalizer.js';
import { DEFAULT_TUNING, type ControllerSettings } from '../../controller/settings.js';
import { ANNOTATIONS, LOG_FINALIZER, MANAGED_LABEL } from '../../lib/contract.js';
import { KubeApiError } from '../../lib/kube/http.js';
import { FakeApi } from './helpers/fake-api.js';
import { waitFor } from '../helpers/wait-for.js';

const KEY = 'ns/p';
const GIVE_UP_SECONDS = 600;

interface PodState {
  managed?: boolean;
  finalizer?: boolean;
  archived?: boolean;
  /** Seconds since deletion started. */
  deletingFor?: number;
  running?: boolean;
}

function podOf(state: PodState): V1Pod {
  const { managed = true, finalizer = false, archived = false, deletingFor, running = true } = state;
  return {
    metadata: {
      name: 'p',
      namespace: 'ns',
      uid: 'uid-p',
      resourceVersion: '1',
      labels: managed ? { [MANAGED_LABEL]: 'true' } : {},
      ...(finalizer ? { finalizers: [LOG_FINALIZER] } : {}),
      ...(archived ? { annotations: { [ANNOTATIONS.logArchive]: 's3://b/k' } } : {}),
      ...(deletingFor !== undefined ? { deletionTimestamp: new Date(Date.now() - deletingFor * 1000) } : {}),
    },
    spec: { containers: [{ name: 'main' }] },
    status: running
      ? { phase: 'Running', containerStatuses: [{ name: 'main', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }
      : { phase: 'Pending', containerStatuses: [{ name: 'main', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
  };
}

interface World {
  reconciler: Reconciler;
  api: FakeApi;
  /** What the reconciler did, in order: `add-finalizer`, `release-finalizer`, `event <type> <reason>`, `forget`, `enqueue-after <ms>`, `enqueue`. */
  did: string[];
  jobOfCalls: number;
  gaveUp(): Promise<number>;
  setPod(pod: V1Pod | undefined): void;
  spool: string;
}

async function world(
  t: Test,
  pod: V1Pod | undefined,
  options: { archive?: boolean; jobSettled?: boolean; apiDown?: boolean; /** Runs while the reconciler awaits the pod's Job. */ duringJobOf?: () => void } = {},
): Promise<World> {
  const spool = await mkdtemp(path.join(os.tmpdir(), 'reconciler-test-'));
  t.teardown(() => rm(spool, { recursive: true, force: true }));
  const api = new FakeApi();
  const did: string[] = [];
  let current = pod;
  const w = { jobOfCalls: 0 } as World;
  const cache = {
    pod: (key: string) => (key === KEY ? current : undefined),
    jobOf: async (): Promise<JobInfo> => {
      w.jobOfCalls++;
      options.duringJobOf?.();
      if (options.apiDown) throw new KubeApiError(503, 'the server is currently unable to handle the request', 'ServiceUnavailable');
      return { job: undefined, deleted: false, settled: options.jobSettled ?? true };
    },
    podsOfJob: () => [],
  } as unknown as PodCache;
  const finalizers = {
    add: async () => {
      if (options.apiDown) throw new KubeApiError(503, 'the server is currently unable to handle the request', 'ServiceUnavailable');
      did.push('add-finalizer');
      return true;
    },
    release: async () => {
      did.push('release-finalizer');
      return 'removed';
    },
  } as unknown as PodFinalizers;
  const events = {
    emit: (_pod: V1Pod, type: string, reason: string) => did.push(`event ${type} ${reason}`),
    forget: () => did.push('forget'),
  } as unknown as PodEvents;
  const registry = new Registry();
  const metrics = controllerMetrics(registry, { queueDepth: () => 0, oldestHeldFinalizerSeconds: () => 0, isLeader: () => true, captures: () => ({ role: 'leading', pods: 0 }) });
  const settings: ControllerSettings = {
    ...DEFAULT_TUNING,
    missingVariables: options.archive ? [] : ['PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME'],
    configurationErrors: [],
    layout: 'per-container',
    jobNamePrefix: 'pygeoapi-job-',
    giveUpSeconds: GIVE_UP_SECONDS,
    standbyCapture: true,
  };
  const reconciler = new Reconciler({
    cache,
    http: api.http(),
    finalizers,
    events,
    metrics,
    // Never reached in these tests: a capture that is still running is never archived.
    archive: options.archive ? ({} as ArchiveContext) : undefined,
    settings,
    spoolRoot: () => spool,
    logger: pino({ level: 'silent' }),
    enqueue: () => did.push('enqueue'),
    enqueueAfter: (_key, ms) => did.push(`enqueue-after ${Math.round(ms / 1000)}s`),
  });
  t.teardown(() => reconciler.disposeCaptures());
  return Object.assign(w, {
    spool,
    reconciler,
    api,
    did,
    gaveUp: async () => (await metrics.archives.get()).values.find((v) => v.labels.result === 'gave_up')?.value ?? 0,
    setPod: (p: V1Pod | undefined) => {
      current = p;
    },
  });
}

t.test('without an archive: what happens to a pod, state by state', async (t) => {
  const cases: Array<[string, V1Pod | undefined, string[], number]> = [
    ['no pod: nothing', undefined, [], 0],
    ['not ours: nothing', podOf({ managed: false }), [], 0],
    ['ours, new: finalizer added, held, the operator told why', podOf({}), ['add-finalizer', 'event Warning LogArchiveNotConfigured'], 0],
    ['ours, held: held again, no second finalizer', podOf({ finalizer: true }), ['event Warning LogArchiveNotConfigured'], 0],
    [
      'being deleted, held 100 s of 600: held, looked at again when the give-up deadline comes',
      podOf({ finalizer: true, deletingFor: 100 }),
      ['event Warning LogArchiveNotConfigured', 'enqueue-after 500s'],
      0,
    ],
    [
      'being deleted past the give-up deadline: released without logs, said loudly',
      podOf({ finalizer: true, deletingFor: GIVE_UP_SECONDS + 5 }),
      ['release-finalizer', 'event Warning LogArchiveGaveUp', 'forget'],
      1,
    ],
    ['being deleted without our finalizer: none added (the API server refuses), nothing held', podOf({ deletingFor: 10 }), [], 0],
    ['archived and still held: the finalizer goes', podOf({ finalizer: true, archived: true }), ['release-finalizer'], 0],
    ['archived, finalizer gone: nothing', podOf({ archived: true }), [], 0],
  ];
  for (const [what, pod, expected, gaveUp] of cases) {
    const w = await world(t, pod);
    await w.reconciler.reconcile(KEY, new AbortController().signal);
    t.same(w.did, expected, what);
    t.equal(await w.gaveUp(), gaveUp, `${what}: gave-up metric`);
    t.equal(w.jobOfCalls, pod ? 1 : 0, `${what}: the Job looked up only for a pod that exists`);
  }
});

t.test('with an archive: a running pod of ours is held and its log captured, never released early', async (t) => {
  const w = await world(t, podOf({}), { archive: true });
  await w.reconciler.reconcile(KEY, new AbortController().signal);
  t.same(w.did, ['add-finalizer'], 'finalizer added; waiting, nothing released');
  await waitFor(() => w.api.calls.includes('STREAM /api/v1/namespaces/ns/pods/p/log'), { what: 'the log to be followed' });

  // Looked at again while the capture runs: still waiting, still no release, no second capture.
  w.setPod(podOf({ finalizer: true }));
  await w.reconciler.reconcile(KEY, new AbortController().signal);
  t.same(w.did, ['add-finalizer'], 'nothing more');
  t.equal(w.api.calls.filter((c) => c.includes('/log')).length, 1, 'one capture per pod');

  await w.reconciler.disposeCaptures();
  t.ok(w.api.logStreams.length === 1 && w.api.logStreams[0]!.destroyed, 'disposing the captures ends the log stream');
});

t.test('the API server failing: the capture starts anyway, before the calls that fail', async (t) => {
  // The Job lookup and the finalizer patch answer 503: the reconcile fails and is retried with back-off, but the
  // log is followed from the first try (the chaos run lost whole logs of short jobs whose capture waited for them).
  const w = await world(t, podOf({}), { archive: true, apiDown: true });
  await t.rejects(w.reconciler.reconcile(KEY, new AbortController().signal), /unable to handle/, 'the reconcile fails (and is retried)');
  await waitFor(() => w.api.calls.includes('STREAM /api/v1/namespaces/ns/pods/p/log'), { what: 'the log to be followed' });
  await t.rejects(w.reconciler.reconcile(KEY, new AbortController().signal), /unable to handle/, 'the retry fails too');
  t.equal(w.api.calls.filter((c) => c.includes('/log')).length, 1, 'still one capture');
});

t.test('a change of a pod, seen while leading, starts its capture without waiting for a worker', async (t) => {
  const cases: Array<[string, V1Pod, number]> = [
    ['ours, running: captured', podOf({}), 1],
    ['ours, not started yet: the capture waits for its containers', podOf({ running: false }), 1],
    ['not ours: nothing', podOf({ managed: false }), 0],
    ['archived: nothing', podOf({ finalizer: true, archived: true }), 0],
    ['past the give-up deadline: nothing', podOf({ finalizer: true, deletingFor: GIVE_UP_SECONDS + 5 }), 0],
  ];
  for (const [what, pod, captures] of cases) {
    const w = await world(t, pod, { archive: true });
    w.reconciler.ensureCapture(KEY, pod);
    w.reconciler.ensureCapture(KEY, pod);
    if (captures > 0 && pod.status?.phase === 'Running') {
      await waitFor(() => w.api.calls.includes('STREAM /api/v1/namespaces/ns/pods/p/log'), { what: `${what}: the log to be followed` });
    }
    t.equal(w.reconciler.podChanged('MODIFIED', KEY, podOf({ managed: false })), captures > 0, `${what}: a capture is held (${captures})`);
    t.same(w.did, [], `${what}: no API call, no Event, nothing queued`);
    t.equal(w.jobOfCalls, 0, `${what}: the Job not looked up`);
  }
  const without = await world(t, podOf({}));
  without.reconciler.ensureCapture(KEY, podOf({}));
  t.equal(without.reconciler.podChanged('MODIFIED', KEY, podOf({ managed: false })), false, 'without an archive: no capture');
});

t.test('a pod that stopped being ours: dropped only when no capture holds it', async (t) => {
  const without = await world(t, undefined);
  const cases: Array<[string, V1Pod, boolean]> = [
    ['ours: reconcile', podOf({}), true],
    ['ours by finalizer alone', podOf({ managed: false, finalizer: true }), true],
    ['not ours: skip', podOf({ managed: false }), false],
  ];
  for (const [what, pod, expected] of cases) t.equal(without.reconciler.podChanged('MODIFIED', KEY, pod), expected, what);

  const held = await world(t, podOf({}), { archive: true });
  await held.reconciler.reconcile(KEY, new AbortController().signal);
  t.equal(held.reconciler.podChanged('MODIFIED', KEY, podOf({ managed: false })), true, 'a captured pod stays of interest whatever its labels');
  await held.reconciler.disposeCaptures();
  t.equal(held.reconciler.podChanged('MODIFIED', KEY, podOf({ managed: false })), false, 'after its capture is disposed, it is not');
});

/** A pod's status once its one container ended well (a fresh object each time: tests change pods). */
const succeededStatus = (): V1Pod['status'] => ({
  phase: 'Succeeded',
  containerStatuses: [{ name: 'main', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } }],
});
/** Its log as the kubelet serves it with timestamps; spooled as `first line\nlast line\n`. */
const TWO_LINES = '2026-01-01T00:00:00.000000001Z first line\n2026-01-01T00:00:00.000000002Z last line\n';

t.test('leadership lost and won back: the next capture resumes from what was spooled, even once the kubelet removed the log', async (t) => {
  // The container ended; the Job's outcome is not known yet, so the pod waits (held) with its log captured.
  const ended = podOf({ finalizer: true });
  ended.status = succeededStatus();
  const w = await world(t, ended, { archive: true, jobSettled: false });
  // The pod read afresh attributes the first read to the instance (instance-attribution.ts); a 404 would drop it.
  w.api.objects.set('/api/v1/namespaces/ns/pods/p', ended);
  w.api.logStream = () => {
    const stream = new PassThrough();
    stream.end(TWO_LINES);
    return stream;
  };
  await w.reconciler.reconcile(KEY, new AbortController().signal);
  await waitFor(() => w.did.includes('enqueue'), { what: 'the capture to finish' });

  await w.reconciler.disposeCaptures(); // leadership lost (a lease not renewed in time)
  // Meanwhile the pod was deleted and the node removed its containers: the kubelet has no log any more.
  w.api.logStream = () => {
    throw new KubeApiError(404, 'pods "p" not found', 'NotFound');
  };
  const reads = w.api.calls.filter((c) => c.endsWith('/log')).length;
  w.did.length = 0;
  await w.reconciler.reconcile(KEY, new AbortController().signal); // leading again
  await waitFor(() => w.did.includes('enqueue'), { what: 'the resumed capture to finish' });
  t.equal(w.api.calls.filter((c) => c.endsWith('/log')).length, reads, 'the complete log is not read again from the kubelet');
  const dirs = await readdir(w.spool);
  t.equal(dirs.length, 1, 'one spool folder for the pod');
  t.equal(await readFile(path.join(w.spool, dirs[0]!, 'main.0.log'), 'utf8'), 'first line\nlast line\n', 'the spooled log is whole');

  // Leadership lost again, and the pod went (another replica archived it): the kept spool goes too.
  await w.reconciler.disposeCaptures();
  t.equal((await readdir(w.spool)).length, 1, 'kept while the pod is there');
  w.reconciler.podChanged('DELETED', KEY, ended);
  await waitFor(async () => ((await readdir(w.spool)).length === 0 ? true : undefined), { what: 'the spool of the deleted pod to be removed' });
});

t.test('issue 15 (j0059): a pod change that came while the reconcile starting its capture awaited still reaches the capture', async (t) => {
  const running = podOf({ finalizer: true });
  const ended = podOf({ finalizer: true });
  ended.metadata!.resourceVersion = '2';
  ended.status = succeededStatus();
  let changed = false;
  // The Job outcome is not known yet, so a finished capture makes the pod wait (and re-queues it: `enqueue`).
  const w: World = await world(t, running, {
    archive: true,
    jobSettled: false,
    duringJobOf: () => {
      if (changed) return;
      changed = true;
      // The container ends while the first reconcile awaits: the cache has the new pod, and no capture is there to be told.
      w.setPod(ended);
      t.equal(w.reconciler.podChanged('MODIFIED', KEY, ended), true, 'the change re-queues the pod');
    },
  });
  // The kubelet: the container ended. Follows end at once with nothing (as for a log already read); a plain read brings it.
  let plainReads = 0;
  w.api.logStream = (options) => {
    const stream = new PassThrough();
    if (options.query?.follow) stream.end();
    else {
      plainReads++;
      stream.end(TWO_LINES);
    }
    return stream;
  };
  // The API fails pod reads (a 503 burst) until the log is read to its end: only the cache can tell that the container ended.
  w.api.objects.set('/api/v1/namespaces/ns/pods/p', () => (plainReads > 0 ? ended : 503));

  await w.reconciler.reconcile(KEY, new AbortController().signal); // starts the capture with the pod it read before awaiting
  await w.reconciler.reconcile(KEY, new AbortController().signal); // the re-queued key (the queue runs it again after the first)
  await waitFor(() => w.did.includes('enqueue'), { what: 'the capture to see the container ended and finish', timeoutMs: 5_000 });
  const dirs = await readdir(w.spool);
  t.equal(await readFile(path.join(w.spool, dirs[0]!, 'main.0.log'), 'utf8'), 'first line\nlast line\n', 'the log is whole');
});

t.test('issue 15: a capture whose watched pod never shows the end finishes from the pod read afresh', async (t) => {
  const running = podOf({ finalizer: true });
  const ended = podOf({ finalizer: true });
  ended.metadata!.resourceVersion = '2';
  ended.status = succeededStatus();
  // The cache (and so the capture) stays at "running"; the API has the end.
  const w = await world(t, running, { archive: true, jobSettled: false });
  w.api.objects.set('/api/v1/namespaces/ns/pods/p', ended);
  w.api.logStream = (options) => {
    const stream = new PassThrough();
    stream.end(options.query?.follow ? undefined : TWO_LINES);
    return stream;
  };
  await w.reconciler.reconcile(KEY, new AbortController().signal);
  await waitFor(() => w.did.includes('enqueue'), { what: 'the capture to finish', timeoutMs: 5_000 });
  const dirs = await readdir(w.spool);
  t.equal(await readFile(path.join(w.spool, dirs[0]!, 'main.0.log'), 'utf8'), 'first line\nlast line\n', 'the log is whole');
  t.ok(w.api.calls.filter((c) => c.endsWith('/log')).length <= 3, 'one follow, then the closing read (no loop of follows)');
});

t.test('standby (another replica leads): captures what the leader would, touches nothing, drops it when no longer needed', async (t) => {
  const cases: Array<[string, V1Pod, 'ADDED' | 'MODIFIED' | 'DELETED', boolean]> = [
    ['a running pod of ours: captured', podOf({}), 'ADDED', true],
    ['not ours: not captured', podOf({ managed: false }), 'ADDED', false],
    ['archived by the leader: not captured', podOf({ finalizer: true, archived: true }), 'MODIFIED', false],
    ['past the give-up deadline: not captured', podOf({ finalizer: true, deletingFor: GIVE_UP_SECONDS + 5 }), 'MODIFIED', false],
  ];
  for (const [what, pod, type, captured] of cases) {
    const w = await world(t, pod, { archive: true });
    w.reconciler.keepStandby(type, KEY, pod);
    t.equal(w.reconciler.captureCount, captured ? 1 : 0, what);
    if (captured) await waitFor(() => w.api.calls.includes('STREAM /api/v1/namespaces/ns/pods/p/log'), { what: 'the log to be followed' });
    t.same(w.did, [], `${what}: no finalizer call, Event or re-queue`);
  }

  // Kept while needed; dropped, spool and all, once the leader marked the pod archived, or when it is gone.
  for (const [what, next, type] of [
    ['archived', podOf({ finalizer: true, archived: true }), 'MODIFIED'],
    ['gone', podOf({ finalizer: true }), 'DELETED'],
  ] as const) {
    const w = await world(t, podOf({}), { archive: true });
    w.reconciler.keepStandby('ADDED', KEY, podOf({}));
    await waitFor(async () => ((await readdir(w.spool)).length === 1 ? true : undefined), { what: 'the standby spool' });
    w.reconciler.keepStandby('MODIFIED', KEY, podOf({ finalizer: true }));
    t.equal(w.reconciler.captureCount, 1, `${what}: one capture while it is needed`);
    w.reconciler.keepStandby(type, KEY, next);
    t.equal(w.reconciler.captureCount, 0, `${what}: dropped`);
    await waitFor(async () => ((await readdir(w.spool)).length === 0 ? true : undefined), { what: `the spool removed (${what})` });
    t.ok(w.api.logStreams.every((s) => s.destroyed), `${what}: its log stream ended`);
  }
});
