import t, { type Test } from 'tap';
import pino from 'pino';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { Reflector, type ReflectorEventType, type ReflectorOptions } from '../../lib/kube/reflector.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { testApi, type TestApi } from '../controller/helpers/kube.js';
import { waitFor } from '../helpers/wait-for.js';
import type { LocalCluster } from '../../local-cluster/index.js';

const logger = pino({ level: 'silent' });
const NS = 'reflect';

interface Recorded {
  reflector: Reflector<V1ConfigMap>;
  events: Array<{ type: ReflectorEventType; name: string; previousVersion?: string }>;
  restarts: string[];
}

function reflectorFor(cluster: LocalCluster, t: Test, options: Partial<ReflectorOptions<V1ConfigMap>> = {}): Recorded {
  const events: Recorded['events'] = [];
  const restarts: string[] = [];
  const reflector = new Reflector<V1ConfigMap>({
    kubeConfig: cluster.kubeConfig(),
    path: `/api/v1/namespaces/${NS}/configmaps`,
    deserialize: (raw) => raw as V1ConfigMap,
    backoff: { baseMs: 20, maxMs: 200 },
    logger,
    onEvent: (type, obj, previous) =>
      events.push({ type, name: obj.metadata?.name ?? '', previousVersion: previous?.metadata?.resourceVersion }),
    onRestart: (reason) => restarts.push(reason),
    ...options,
  });
  t.teardown(() => reflector.stop());
  return { reflector, events, restarts };
}

let api: TestApi;
const CM = `/api/v1/namespaces/${NS}/configmaps`;

async function create(_cluster: LocalCluster, name: string, data: Record<string, string> = { v: '1' }): Promise<void> {
  await api.create(CM, { metadata: { name }, data });
}

async function update(_cluster: LocalCluster, name: string, value: string): Promise<void> {
  await api.mergePatch(`${CM}/${name}`, { data: { v: value } });
}

async function remove(_cluster: LocalCluster, name: string): Promise<void> {
  await api.remove(`${CM}/${name}`);
}

/** name → resourceVersion, as the server has it now. */
async function serverState(_cluster: LocalCluster): Promise<Record<string, string>> {
  const list = await api.get<{ items: V1ConfigMap[] }>(CM);
  return Object.fromEntries(list.items.map((c) => [c.metadata!.name!, c.metadata!.resourceVersion!]));
}

function cacheState(reflector: Reflector<V1ConfigMap>): Record<string, string> {
  return Object.fromEntries(reflector.list().map((c) => [c.metadata!.name!, c.metadata!.resourceVersion!]));
}

/** Waits until the cache holds exactly what the server holds (names and versions). */
async function converged(cluster: LocalCluster, reflector: Reflector<V1ConfigMap>, what: string): Promise<void> {
  await waitFor(
    async () => {
      const server = await serverState(cluster);
      return JSON.stringify(Object.entries(server).sort()) === JSON.stringify(Object.entries(cacheState(reflector)).sort());
    },
    { what, timeoutMs: 10_000 },
  );
}

t.test('reflector', async (t) => {
  const cluster = await startTestCluster(t, { namespaces: [NS], bookmarkIntervalMs: 100 });
  api = testApi(cluster);
  t.teardown(() => api.close());

  t.test('initial sync pages through the list', async (t) => {
    for (let i = 0; i < 25; i++) await create(cluster, `page-${String(i).padStart(2, '0')}`);
    const { reflector, events } = reflectorFor(cluster, t, { pageSize: 10 });
    t.equal(reflector.synced, false);
    await reflector.start();
    t.equal(reflector.synced, true);
    t.same(cacheState(reflector), await serverState(cluster), 'cache equals the server list');
    // The 25 and the namespace's kube-root-ca.crt, which every namespace has.
    t.equal(events.filter((e) => e.type === 'ADDED').length, 26, 'one ADDED per object');
    t.ok(reflector.get(NS, 'page-07'), 'get by namespace and name');
    t.notOk(reflector.get(NS, 'nope'));
    t.match(reflector.lastSyncResourceVersion, /^\d+$/);
    for (let i = 0; i < 25; i++) await remove(cluster, `page-${String(i).padStart(2, '0')}`);
  });

  t.test('add, update and delete arrive as events with the previous object', async (t) => {
    const { reflector, events } = reflectorFor(cluster, t);
    await reflector.start();
    await create(cluster, 'ev-a');
    await waitFor(() => reflector.get(NS, 'ev-a'), { what: 'ev-a in the cache' });
    const firstVersion = reflector.get(NS, 'ev-a')!.metadata!.resourceVersion;
    await update(cluster, 'ev-a', '2');
    await waitFor(() => reflector.get(NS, 'ev-a')?.data?.v === '2', { what: 'ev-a updated' });
    await remove(cluster, 'ev-a');
    await waitFor(() => !reflector.get(NS, 'ev-a'), { what: 'ev-a gone' });
    const mine = events.filter((e) => e.name === 'ev-a');
    t.same(mine.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    t.equal(mine[1]!.previousVersion, firstVersion, 'MODIFIED carries the previous object');
    t.ok(mine[2]!.previousVersion, 'DELETED carries the last cached object');
  });

  t.test('dropped watches resume without losing events', async (t) => {
    const { reflector } = reflectorFor(cluster, t);
    await reflector.start();
    let drops = 0;
    const drop = (): void => {
      if (cluster.faults.openWatches > 0) drops++;
      cluster.faults.dropWatches();
    };
    for (let i = 0; i < 10; i++) {
      await create(cluster, `drop-${i}`);
      if (i % 3 === 0) drop();
    }
    await remove(cluster, 'drop-4');
    drop();
    await update(cluster, 'drop-5', 'x');
    t.ok(drops > 0, `watches were dropped (${drops})`);
    await converged(cluster, reflector, 'cache to catch up after drops');
    t.notOk(reflector.get(NS, 'drop-4'));
    t.equal(reflector.get(NS, 'drop-5')?.data?.v, 'x');
    for (let i = 0; i < 10; i++) if (i !== 4) await remove(cluster, `drop-${i}`);
  });

  t.test('410 Gone relists and reports what was missed', async (t) => {
    await create(cluster, 'gone-keep');
    await create(cluster, 'gone-deleted');
    const { reflector, events, restarts } = reflectorFor(cluster, t);
    await reflector.start();
    // While the watch hears nothing, change things and compact history past our resourceVersion.
    cluster.faults.stallWatches(true);
    await remove(cluster, 'gone-deleted');
    await create(cluster, 'gone-new');
    await update(cluster, 'gone-keep', 'changed');
    cluster.faults.expireResourceVersions();
    cluster.faults.dropWatches();
    cluster.faults.stallWatches(false);
    await converged(cluster, reflector, 'cache to match after the relist');
    t.ok(restarts.some((r) => r.includes('410')), `a 410 restart was reported (${restarts.join('; ')})`);
    t.ok(events.some((e) => e.type === 'DELETED' && e.name === 'gone-deleted'), 'the missed delete is synthesised');
    t.ok(events.some((e) => e.type === 'ADDED' && e.name === 'gone-new'), 'the missed add is synthesised');
    t.ok(events.some((e) => e.type === 'MODIFIED' && e.name === 'gone-keep'), 'the missed update is synthesised');
    await remove(cluster, 'gone-keep');
    await remove(cluster, 'gone-new');
  });

  t.test('a silently stalled watch is restarted by the watchdog', async (t) => {
    const { reflector, restarts } = reflectorFor(cluster, t, { stallTimeoutMs: 400 });
    await reflector.start();
    cluster.faults.stallWatches(true);
    t.teardown(() => cluster.faults.stallWatches(false));
    await create(cluster, 'stall-a');
    await waitFor(() => restarts.some((r) => r === 'watch stalled'), { what: 'the watchdog to restart the watch' });
    t.notOk(reflector.get(NS, 'stall-a'), 'nothing arrives while the watch is stalled');
    // The hung connections die (as they do once the network recovers); the next watch resumes from
    // the version before the stall and brings what was missed.
    cluster.faults.stallWatches(false);
    cluster.faults.dropWatches();
    await create(cluster, 'stall-b');
    await converged(cluster, reflector, 'cache to catch up after the stall');
    t.ok(reflector.get(NS, 'stall-a'), 'the event sent during the stall is not lost');
    t.ok(restarts.every((r) => r === 'watch stalled'), 'only the watchdog restarted it');
    await remove(cluster, 'stall-a');
    await remove(cluster, 'stall-b');
  });

  t.test('5xx during the list is retried until the first sync', async (t) => {
    await create(cluster, 'err-a');
    cluster.faults.injectErrors({ share: 1, status: 500, match: /^GET .*\/configmaps$/, count: 3 });
    t.teardown(() => cluster.faults.injectErrors(undefined));
    const { reflector, restarts } = reflectorFor(cluster, t);
    await reflector.start();
    t.ok(restarts.length >= 3, `restarted after each failure (${restarts.length})`);
    t.match(restarts[0], /500/);
    t.same(cacheState(reflector), await serverState(cluster));
    // Errors on the watch itself (a 503 while reconnecting) are retried too.
    cluster.faults.injectErrors({ share: 1, status: 503, match: /^GET .*\/configmaps$/, count: 4 });
    cluster.faults.dropWatches();
    await create(cluster, 'err-b');
    await converged(cluster, reflector, 'cache after watch errors');
    await remove(cluster, 'err-a');
    await remove(cluster, 'err-b');
  });

  t.test('the periodic resync reports deletes the watch missed', async (t) => {
    await create(cluster, 'resync-a');
    await create(cluster, 'resync-kept');
    const { reflector, events } = reflectorFor(cluster, t, { resyncIntervalMs: 300, stallTimeoutMs: 60_000 });
    await reflector.start();
    const kept = reflector.get(NS, 'resync-kept');
    cluster.faults.stallWatches(true);
    t.teardown(() => cluster.faults.stallWatches(false));
    await remove(cluster, 'resync-a');
    await waitFor(() => events.some((e) => e.type === 'DELETED' && e.name === 'resync-a'), { what: 'the resync to report the delete' });
    t.notOk(reflector.get(NS, 'resync-a'));
    t.ok(kept, 'resync-kept was listed');
    t.equal(reflector.get(NS, 'resync-kept'), kept, 'an object unchanged since the last list is kept, not decoded a second time');
    t.notOk(events.some((e) => e.type === 'MODIFIED' && e.name === 'resync-kept'), 'and no change is reported for it');
    await remove(cluster, 'resync-kept');
  });

  t.test('stop closes the watch and ends start() if never synced', async (t) => {
    const { reflector } = reflectorFor(cluster, t);
    await reflector.start();
    await waitFor(() => cluster.faults.openWatches > 0, { what: 'a watch to be open' });
    const before = cluster.faults.openWatches;
    await reflector.stop();
    await waitFor(() => cluster.faults.openWatches < before, { what: 'the server to see the watch close' });

    cluster.faults.injectErrors({ share: 1, status: 500, match: /^GET .*\/configmaps$/ });
    t.teardown(() => cluster.faults.injectErrors(undefined));
    const never = reflectorFor(cluster, t).reflector;
    const failedBefore = cluster.faults.stats.injectedErrors;
    const started = never.start();
    await waitFor(() => cluster.faults.stats.injectedErrors > failedBefore, { what: 'the first list to be tried (and fail)' });
    await never.stop();
    await t.rejects(started, /stopped before its first list/);
    t.equal(never.synced, false);
  });
});
