/**
 * The local cluster's fault injection, as a client meets it: failed and
 * throttled requests, slow answers, dropped and stalled watches, and
 * expired resourceVersions.
 */
import t from 'tap';
import assert from 'node:assert/strict';
import { CoreV1Api, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { apiFailure, startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { named, recordWatch } from '../helpers/watch.js';

const NS = 'faults';
const cluster = await startTestCluster(t, { namespaces: [NS] });
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const { faults } = cluster;

const configMap = (name: string): V1ConfigMap => ({ metadata: { name }, data: { name } });
const readDefault = () => core.readNamespace({ name: 'default' });

t.beforeEach(() => {
  faults.injectErrors(undefined);
  faults.delayMs = 0;
  faults.stallWatches(false);
});

t.test('injected 500s: the next `count` requests fail, then requests succeed', async (t) => {
  const before = faults.stats.injectedErrors;
  faults.injectErrors({ share: 1, status: 500, count: 2 });
  for (const attempt of [1, 2]) {
    const failure = await apiFailure(readDefault());
    t.equal(failure.httpCode, 500, `request ${attempt} fails with 500`);
    t.match(failure.status, { kind: 'Status', code: 500, reason: 'InternalError' });
  }
  t.equal((await readDefault()).metadata?.name, 'default', 'the third request succeeds');
  t.equal(faults.stats.injectedErrors - before, 2, 'the stats count the two injected failures');
});

t.test('injected 429s carry Retry-After and reason TooManyRequests', async (t) => {
  faults.injectErrors({ share: 1, status: 429, count: 1 });
  const failure = await apiFailure(core.listNamespacedConfigMap({ namespace: NS }));
  t.equal(failure.httpCode, 429);
  t.match(failure.status, { code: 429, reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
  t.equal(failure.headers['retry-after'], '1', 'the Retry-After header says when to come back');
  t.ok(await core.listNamespacedConfigMap({ namespace: NS }), 'the next request succeeds');
});

t.test('injected 503s are ServiceUnavailable', async (t) => {
  faults.injectErrors({ share: 1, status: 503, count: 1 });
  const failure = await apiFailure(core.createNamespacedConfigMap({ namespace: NS, body: configMap('not-created') }));
  t.equal(failure.httpCode, 503);
  t.equal(failure.status.reason, 'ServiceUnavailable');
  t.equal((await apiFailure(core.readNamespacedConfigMap({ namespace: NS, name: 'not-created' }))).httpCode, 404, 'the failed create stored nothing');
});

t.test('injected errors can be limited to matching requests', async (t) => {
  faults.injectErrors({ share: 1, status: 500, match: /^POST .*\/configmaps$/ });
  t.ok(await readDefault(), 'a GET of something else is not affected');
  t.equal((await apiFailure(core.createNamespacedConfigMap({ namespace: NS, body: configMap('matched') }))).httpCode, 500, 'a matching POST fails');
  t.equal((await apiFailure(core.createNamespacedConfigMap({ namespace: NS, body: configMap('matched') }))).httpCode, 500, 'every time (no count)');
  faults.injectErrors(undefined);
  t.ok(await core.createNamespacedConfigMap({ namespace: NS, body: configMap('matched') }), 'cleared: it succeeds');
});

t.test('delayMs slows every answer down', async (t) => {
  faults.delayMs = 300;
  const started = Date.now();
  await readDefault();
  const slow = Date.now() - started;
  faults.delayMs = 0;
  const again = Date.now();
  await readDefault();
  const fast = Date.now() - again;
  t.ok(slow >= 290, `with delayMs 300 the answer took ${slow} ms`);
  t.ok(fast < 290, `without, ${fast} ms`);
});

t.test('dropWatches closes open watches', async (t) => {
  const watch = await recordWatch(kc, `/api/v1/namespaces/${NS}/configmaps`, {});
  t.teardown(() => watch.stop());
  await waitFor(() => faults.openWatches >= 1, { what: 'the watch to be registered' });
  faults.dropWatches();
  const ended = await watch.closed('the dropped watch to end');
  t.ok(ended, 'the client saw its watch end');
  t.equal(faults.openWatches, 0, 'no watch is open any more');
});

t.test('dropWatches counts the watches it dropped', async (t) => {
  const watch = await recordWatch(kc, `/api/v1/namespaces/${NS}/configmaps`, {});
  t.teardown(() => watch.stop());
  await waitFor(() => faults.openWatches >= 1, { what: 'the watch to be registered' });
  const open = faults.openWatches;
  const dropped = faults.stats.droppedWatches;
  faults.dropWatches();
  await watch.closed('the dropped watch to end');
  assert.equal(faults.stats.droppedWatches - dropped, open, 'stats.droppedWatches grows by the number of open watches');
});

t.test('stallWatches keeps the connection open but sends nothing', async (t) => {
  const watch = await recordWatch(kc, `/api/v1/namespaces/${NS}/configmaps`, { resourceVersion: String(cluster.registry.store.currentRevision) });
  t.teardown(() => watch.stop());
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('before-stall') });
  await watch.next(named('ADDED', 'before-stall'), 'the event before the stall');

  faults.stallWatches(true);
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('during-stall') });
  faults.stallWatches(false);
  // Anything sent while stalled would arrive before what is sent now, on the same connection.
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('after-stall') });
  await watch.next(named('ADDED', 'after-stall'), 'the event after the stall ended');
  t.notOk(watch.events.some(named('ADDED', 'during-stall')), 'the event written during the stall never came');
  t.equal(watch.ended, undefined, 'the stalled watch stayed open');
});

t.test('a watch opened during a stall is stalled from its start', async (t) => {
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('existing-before-stall') });
  faults.stallWatches(true);
  const stalledNew = await recordWatch(kc, `/api/v1/namespaces/${NS}/configmaps`, {});
  t.teardown(() => stalledNew.stop());
  faults.stallWatches(false);
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('after-second-stall') });
  await stalledNew.next(named('ADDED', 'after-second-stall'), 'the watch opened during the stall to get later events');
  assert.ok(!stalledNew.events.some(named('ADDED', 'existing-before-stall')), 'initial ADDED events were sent while stalled');
});

t.test('expireResourceVersions: a watch from before gets 410, a new list and watch work', async (t) => {
  const list = await core.listNamespacedConfigMap({ namespace: NS });
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('after-list') });
  faults.expireResourceVersions();
  const watch = await recordWatch(kc, `/api/v1/namespaces/${NS}/configmaps`, { resourceVersion: list.metadata?.resourceVersion });
  const error = await watch.next((e) => e.type === 'ERROR', 'the ERROR event of the expired watch');
  t.match(error.object, { code: 410, reason: 'Expired' });
  await watch.closed('the expired watch to be closed');

  const relist = await core.listNamespacedConfigMap({ namespace: NS });
  const rewatch = await recordWatch(kc, `/api/v1/namespaces/${NS}/configmaps`, { resourceVersion: relist.metadata?.resourceVersion });
  t.teardown(() => rewatch.stop());
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('after-relist') });
  await rewatch.next(named('ADDED', 'after-relist'), 'events after relisting');
  t.notOk(rewatch.events.some((e) => e.type === 'ERROR'), 'a watch from the fresh list is fine');
});

t.test('expireResourceVersions: a continue token from before is 410', async (t) => {
  for (const name of ['page-a', 'page-b']) await core.createNamespacedConfigMap({ namespace: NS, body: configMap(name) });
  const first = await core.listNamespacedConfigMap({ namespace: NS, limit: 1 });
  t.ok(first.metadata?._continue, 'a first page with a continue token');
  // Compaction forgets revisions before the newest one: write once, so the list's revision is older.
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('page-c') });
  faults.expireResourceVersions();
  const failure = await apiFailure(core.listNamespacedConfigMap({ namespace: NS, limit: 1, _continue: first.metadata?._continue }));
  t.equal(failure.httpCode, 410);
  t.equal(failure.status.reason, 'Expired');
  t.match(failure.status.message, /continue parameter is too old/);
  const fresh = await core.listNamespacedConfigMap({ namespace: NS, limit: 1 });
  t.ok(fresh.items.length === 1, 'a new list works');
});

t.test('an informer relists after its watch was dropped and its resourceVersion expired', async (t) => {
  const informer = makeInformer(kc, `/api/v1/namespaces/${NS}/configmaps`, () => core.listNamespacedConfigMap({ namespace: NS }));
  const added = new Set<string>();
  informer.on('add', (o) => added.add(o.metadata?.name ?? ''));
  informer.on('error', () => undefined);
  await informer.start();
  t.teardown(() => informer.stop());
  await waitFor(() => added.has('after-list'), { what: 'the informer\'s first list' });

  faults.stallWatches(true);
  await core.createNamespacedConfigMap({ namespace: NS, body: configMap('missed') });
  faults.expireResourceVersions();
  faults.stallWatches(false);
  faults.dropWatches();
  // Re-watching from its last resourceVersion now gets 410; the informer must list again to catch up.
  await waitFor(() => added.has('missed'), { what: 'the informer to relist and find what it missed', timeoutMs: 15_000 });
  t.ok(informer.get('missed', NS), 'the cache holds the missed object');
});
