/**
 * The local cluster seen through @kubernetes/client-node 1.4, as the product
 * uses it: typed API clients, patches of each kind, selectors and paging,
 * API errors, watches, informers and dry runs.
 */
import t from 'tap';
import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  Log,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { apiFailure, shellJob, startTestCluster, conditionOf } from '../helpers/local-cluster.js';
import { waitFor, within } from '../helpers/wait-for.js';
import { named, recordWatch } from '../helpers/watch.js';

const cluster = await startTestCluster(t, { bookmarkIntervalMs: 150, namespaces: ['crud', 'lists', 'paging', 'watches', 'informer', 'dry'] });
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);

const configMap = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

/** Every namespace has the cluster's kube-root-ca.crt ConfigMap (root-ca-cert-publisher); the tests' own objects are the others. */
const ROOT_CA = 'kube-root-ca.crt';
const ours = <T extends { metadata?: { name?: string } }>(items: readonly T[]): T[] => items.filter((c) => c.metadata?.name !== ROOT_CA);

t.test('kubeConfig() gives client-node a working, verified connection', async (t) => {
  const ns = await cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespace({ name: 'default' });
  t.equal(ns.metadata?.name, 'default');
  t.match(cluster.url, /^https:/, 'the API server speaks TLS');
});

t.test('create, get, list, update and delete', async (t) => {
  const created = await core.createNamespacedConfigMap({ namespace: 'crud', body: configMap('settings', { a: '1' }) });
  t.ok(created.metadata?.uid, 'the server assigns a uid');
  t.match(created.metadata?.resourceVersion, /^\d+$/, 'and a resourceVersion');
  t.ok(created.metadata?.creationTimestamp instanceof Date, 'creationTimestamp comes back as a date');
  t.equal(created.metadata?.namespace, 'crud', 'the namespace comes from the path');

  const got = await core.readNamespacedConfigMap({ namespace: 'crud', name: 'settings' });
  t.same(got.data, { a: '1' });
  t.equal(got.metadata?.resourceVersion, created.metadata?.resourceVersion);

  const listed = await core.listNamespacedConfigMap({ namespace: 'crud' });
  t.same(ours(listed.items).map((c) => c.metadata?.name), ['settings']);
  t.ok(listed.items.some((c) => c.metadata?.name === ROOT_CA), 'beside the namespace\'s kube-root-ca.crt');
  t.match(listed.metadata?.resourceVersion, /^\d+$/, 'a list has its own resourceVersion');

  const replaced = await core.replaceNamespacedConfigMap({ namespace: 'crud', name: 'settings', body: { ...got, data: { a: '2' } } });
  t.same(replaced.data, { a: '2' });
  t.not(replaced.metadata?.resourceVersion, got.metadata?.resourceVersion, 'an update gets a new resourceVersion');
  t.equal(replaced.metadata?.uid, created.metadata?.uid);

  const unchanged = await core.replaceNamespacedConfigMap({ namespace: 'crud', name: 'settings', body: replaced });
  t.equal(unchanged.metadata?.resourceVersion, replaced.metadata?.resourceVersion, 'a no-op update keeps the resourceVersion');

  const job = await batch.createNamespacedJob({ namespace: 'crud', body: shellJob('suspended', 'true', { suspend: true }) });
  t.equal(job.spec?.backoffLimit, 6, 'defaults are applied (backoffLimit)');
  t.equal(job.spec?.completions, 1, 'defaults are applied (completions)');
  t.ok(job.spec?.selector?.matchLabels?.['batch.kubernetes.io/controller-uid'], 'the Job gets a generated selector');
  t.equal(job.spec?.template.metadata?.labels?.['job-name'], 'suspended', 'and its template the job-name label');
  const jobs = await batch.listNamespacedJob({ namespace: 'crud' });
  t.same(jobs.items.map((j) => j.metadata?.name), ['suspended']);

  const lease = await coordination.createNamespacedLease({
    namespace: 'crud',
    body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date() } },
  });
  const renewTime = new Date();
  const renewed = await coordination.replaceNamespacedLease({
    namespace: 'crud',
    name: 'leader',
    body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b', renewTime } },
  });
  t.equal(renewed.spec?.holderIdentity, 'b', 'a Lease changes hands with an update');
  t.ok(Math.abs(Date.parse(String(renewed.spec?.renewTime)) - renewTime.getTime()) < 1, 'renewTime (MicroTime) round-trips');

  const deleted = await core.deleteNamespacedConfigMap({ namespace: 'crud', name: 'settings' });
  t.equal(deleted.status, 'Success', 'delete answers with a Success status');
  t.equal(deleted.details?.name, 'settings');
  const gone = await apiFailure(core.readNamespacedConfigMap({ namespace: 'crud', name: 'settings' }));
  t.equal(gone.httpCode, 404);
  await batch.deleteNamespacedJob({ namespace: 'crud', name: 'suspended', propagationPolicy: 'Background' });
  await coordination.deleteNamespacedLease({ namespace: 'crud', name: 'leader' });
});

t.test('json-patch, merge-patch and strategic-merge-patch', async (t) => {
  await core.createNamespacedConfigMap({
    namespace: 'crud',
    body: { ...configMap('patched', { keep: 'yes', drop: 'me' }), metadata: { name: 'patched', finalizers: ['example.com/a'] } },
  });

  // client-node 1.4 sends json-patch unless told otherwise.
  const jsonPatched = await core.patchNamespacedConfigMap({
    namespace: 'crud',
    name: 'patched',
    body: [{ op: 'add', path: '/data/added', value: 'by-json-patch' }, { op: 'test', path: '/data/keep', value: 'yes' }],
  });
  t.same(jsonPatched.data, { keep: 'yes', drop: 'me', added: 'by-json-patch' }, 'json-patch (the default) adds a key');

  const failedTest = await apiFailure(
    core.patchNamespacedConfigMap({ namespace: 'crud', name: 'patched', body: [{ op: 'test', path: '/data/keep', value: 'no' }] }),
  );
  t.equal(failedTest.httpCode, 422, 'a failing json-patch test op is 422');

  const merged = await core.patchNamespacedConfigMap(
    { namespace: 'crud', name: 'patched', body: { data: { drop: null, merged: 'yes' }, metadata: { finalizers: ['example.com/b'] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  t.same(merged.data, { keep: 'yes', added: 'by-json-patch', merged: 'yes' }, 'merge-patch: null deletes a key');
  t.same(merged.metadata?.finalizers, ['example.com/b'], 'merge-patch replaces lists');

  const strategic = await core.patchNamespacedConfigMap(
    { namespace: 'crud', name: 'patched', body: { metadata: { finalizers: ['example.com/c'] } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  // New items go first, as Go's strategicpatch orders a merged primitive list.
  t.same(strategic.metadata?.finalizers, ['example.com/c', 'example.com/b'], 'strategic-merge-patch merges finalizers (patchStrategy merge)');

  const unsupported = await apiFailure(
    core.patchNamespacedConfigMap({ namespace: 'crud', name: 'patched', body: { data: {} } }, setHeaderOptions('Content-Type', 'application/json')),
  );
  t.equal(unsupported.httpCode, 415, 'a patch with a plain JSON content type is 415');
  t.equal(unsupported.status.reason, 'UnsupportedMediaType');

  await core.patchNamespacedConfigMap(
    { namespace: 'crud', name: 'patched', body: { metadata: { finalizers: null } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await core.deleteNamespacedConfigMap({ namespace: 'crud', name: 'patched' });
});

t.test('Status bodies of 404, 409 and 422', async (t) => {
  const missing = await apiFailure(batch.readNamespacedJob({ namespace: 'crud', name: 'nope' }));
  t.equal(missing.httpCode, 404);
  t.match(missing.status, {
    kind: 'Status',
    status: 'Failure',
    code: 404,
    reason: 'NotFound',
    message: 'jobs.batch "nope" not found',
    details: { name: 'nope', group: 'batch', kind: 'jobs' },
  });

  await core.createNamespacedConfigMap({ namespace: 'crud', body: configMap('twice') });
  const duplicate = await apiFailure(core.createNamespacedConfigMap({ namespace: 'crud', body: configMap('twice') }));
  t.equal(duplicate.httpCode, 409);
  t.match(duplicate.status, { code: 409, reason: 'AlreadyExists', message: 'configmaps "twice" already exists', details: { name: 'twice', kind: 'configmaps' } });

  const current = await core.readNamespacedConfigMap({ namespace: 'crud', name: 'twice' });
  await core.replaceNamespacedConfigMap({ namespace: 'crud', name: 'twice', body: { ...current, data: { v: '1' } } });
  const stale = await apiFailure(core.replaceNamespacedConfigMap({ namespace: 'crud', name: 'twice', body: { ...current, data: { v: '2' } } }));
  t.equal(stale.httpCode, 409, 'an update with a stale resourceVersion is a conflict');
  t.match(stale.status, {
    reason: 'Conflict',
    message: 'Operation cannot be fulfilled on configmaps "twice": the object has been modified; please apply your changes to the latest version and try again',
  });
  const kept = await core.readNamespacedConfigMap({ namespace: 'crud', name: 'twice' });
  t.same(kept.data, { v: '1' }, 'the conflicting write was not stored');

  const invalidName = await apiFailure(batch.createNamespacedJob({ namespace: 'crud', body: shellJob('Not_A_Name', 'true') }));
  t.equal(invalidName.httpCode, 422);
  t.match(invalidName.status, { reason: 'Invalid', details: { name: 'Not_A_Name', group: 'batch', kind: 'Job', causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }] } });
  t.match(invalidName.status.message, /"Not_A_Name" is invalid: metadata\.name: Invalid value/);

  const noContainers = await apiFailure(
    batch.createNamespacedJob({ namespace: 'crud', body: { metadata: { name: 'empty' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [] } } } } }),
  );
  t.equal(noContainers.httpCode, 422);
  t.match(noContainers.status.details?.causes, [{ field: 'spec.template.spec.containers', reason: 'FieldValueRequired' }]);

  const alwaysRestart = await apiFailure(batch.createNamespacedJob({ namespace: 'crud', body: shellJob('always', 'true', {}, { restartPolicy: 'Always' }) }));
  t.equal(alwaysRestart.httpCode, 422, 'a Job pod template may not restart Always');

  await core.deleteNamespacedConfigMap({ namespace: 'crud', name: 'twice' });
});

t.test('a 422 message names the group-qualified kind', async () => {
  const invalidName = await apiFailure(batch.createNamespacedJob({ namespace: 'crud', body: shellJob('Not_A_Name', 'true') }));
  assert.match(invalidName.status.message ?? '', /^Job\.batch "Not_A_Name" is invalid: metadata\.name: Invalid value/);
});

t.test('list with a set-based label selector and a field selector', async (t) => {
  const labelled: Array<[string, Record<string, string>]> = [
    ['a', { tier: 'web', env: 'prod' }],
    ['b', { tier: 'db', env: 'prod' }],
    ['c', { tier: 'cache', env: 'dev' }],
    ['d', { tier: 'web', env: 'dev', canary: 'true' }],
    ['e', { env: 'prod' }],
  ];
  for (const [name, labels] of labelled) await core.createNamespacedConfigMap({ namespace: 'lists', body: configMap(name, {}, labels) });
  const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
    ours((await core.listNamespacedConfigMap({ namespace: 'lists', labelSelector, fieldSelector })).items).map((c) => c.metadata?.name ?? '');

  t.same(await names('tier in (web,db)'), ['a', 'b', 'd'], 'in');
  t.same(await names('tier notin (web,db)'), ['c', 'e'], 'notin also selects objects without the key');
  t.same(await names('tier in (web),!canary'), ['a'], 'in and does-not-exist');
  t.same(await names('tier,env=dev'), ['c', 'd'], 'exists and equality');
  t.same(await names('env!=prod'), ['c', 'd']);
  t.same(await names(undefined, 'metadata.name=c'), ['c'], 'field selector on the name');
  t.same(await names('env=prod', 'metadata.name!=a'), ['b', 'e'], 'label and field selector together');

  const bad = await apiFailure(core.listNamespacedConfigMap({ namespace: 'lists', labelSelector: 'tier in (web' }));
  t.equal(bad.httpCode, 400, 'an unparsable label selector is 400');
  const unsupported = await apiFailure(core.listNamespacedConfigMap({ namespace: 'lists', fieldSelector: 'data.x=1' }));
  t.equal(unsupported.httpCode, 400, 'an unsupported field label is 400');
  t.match(unsupported.status.message, /"data\.x" is not a known field selector/);

});

t.test('pod field selectors are accepted', async (t) => {
  const list = await core.listNamespacedPod({ namespace: 'lists', fieldSelector: 'status.phase=Running,spec.nodeName=local-node' });
  t.same(list.items, []);
});

t.test('limit and continue page through a list in name order', async (t) => {
  const all = ['p1', 'p2', 'p3', 'p4', 'p5'];
  // Selected by label: kube-root-ca.crt is not one of the pages.
  const labelSelector = 'paged=yes';
  for (const name of [...all].reverse()) await core.createNamespacedConfigMap({ namespace: 'paging', body: configMap(name, {}, { paged: 'yes' }) });
  const first = await core.listNamespacedConfigMap({ namespace: 'paging', limit: 2, labelSelector });
  t.same(first.items.map((c) => c.metadata?.name), ['p1', 'p2']);
  t.ok(first.metadata?._continue, 'a full page carries a continue token');
  t.equal(first.metadata?.remainingItemCount, undefined, 'not counted under a selector, as on the real server');
  const unselected = await core.listNamespacedConfigMap({ namespace: 'paging', limit: 2 });
  t.equal(unselected.metadata?.remainingItemCount, 4, 'counted without one (the five and kube-root-ca.crt)');

  // Later pages are the list as it was at the first page (a snapshot): changes made meanwhile are not seen.
  await core.createNamespacedConfigMap({ namespace: 'paging', body: configMap('p0', {}, { paged: 'yes' }) });
  await core.createNamespacedConfigMap({ namespace: 'paging', body: configMap('p35', {}, { paged: 'yes' }) });
  await core.deleteNamespacedConfigMap({ namespace: 'paging', name: 'p3' });
  await core.patchNamespacedConfigMap({ namespace: 'paging', name: 'p4', body: { data: { changed: 'yes' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await core.patchNamespacedConfigMap({ namespace: 'paging', name: 'p5', body: { metadata: { labels: { paged: 'no' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const seen = first.items.map((c) => c.metadata?.name);
  let token = first.metadata?._continue;
  let pages = 1;
  let p4Data: unknown;
  while (token) {
    const page = await core.listNamespacedConfigMap({ namespace: 'paging', limit: 2, _continue: token, labelSelector });
    t.equal(page.metadata?.resourceVersion, first.metadata?.resourceVersion, 'every page reports the first page\'s resourceVersion');
    seen.push(...page.items.map((c) => c.metadata?.name));
    p4Data ??= page.items.find((c) => c.metadata?.name === 'p4')?.data;
    token = page.metadata?._continue;
    pages++;
    if (pages > 5) break;
  }
  t.same(seen, all, 'all items as at the first page, once each, in key order: the deleted p3 and relabelled p5 too, not p0 or p35');
  t.same(p4Data ?? {}, {}, 'p4 as it was then, without the later data');
  t.equal(pages, 3);
  const now = await core.listNamespacedConfigMap({ namespace: 'paging', labelSelector });
  t.same(now.items.map((c) => c.metadata?.name), ['p0', 'p1', 'p2', 'p35', 'p4'], 'a new list sees the changes');

  const bad = await apiFailure(core.listNamespacedConfigMap({ namespace: 'paging', limit: 2, _continue: 'not-a-token!' }));
  t.equal(bad.httpCode, 400, 'a garbled continue token is 400');
});

t.test('watch from a resourceVersion replays what happened after it', async (t) => {
  const before = await core.createNamespacedConfigMap({ namespace: 'watches', body: configMap('w1', { v: '0' }) });
  const from = before.metadata?.resourceVersion;
  await core.patchNamespacedConfigMap({ namespace: 'watches', name: 'w1', body: { data: { v: '1' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await core.createNamespacedConfigMap({ namespace: 'watches', body: configMap('w2') });
  await core.deleteNamespacedConfigMap({ namespace: 'watches', name: 'w1' });

  const watch = await recordWatch(kc, '/api/v1/namespaces/watches/configmaps', { resourceVersion: from });
  t.teardown(() => watch.stop());
  await watch.next(named('DELETED', 'w1'), 'the replayed DELETED of w1');
  t.same(
    watch.events.map((e) => `${e.type} ${e.object.metadata?.name}`),
    ['MODIFIED w1', 'ADDED w2', 'DELETED w1'],
    'exactly the changes after the resourceVersion, in order, nothing from before it',
  );
  const rvs = watch.events.map((e) => Number(e.object.metadata?.resourceVersion));
  t.ok(rvs.every((rv, i) => rv > Number(from) && (i === 0 || rv > rvs[i - 1]!)), 'resourceVersions increase past the starting one');

  await core.createNamespacedConfigMap({ namespace: 'watches', body: configMap('w3') });
  await watch.next(named('ADDED', 'w3'), 'the live ADDED of w3 after the replay');

  const fresh = await recordWatch(kc, '/api/v1/namespaces/watches/configmaps', {});
  t.teardown(() => fresh.stop());
  await fresh.next(named('ADDED', 'w3'), 'the initial ADDED events of a watch without resourceVersion');
  t.same(ours(fresh.events.map((e) => e.object)).map((o) => o.metadata?.name).sort(), ['w2', 'w3'], 'a watch without resourceVersion starts with the current objects');
  t.ok(fresh.events.every((e) => e.type === 'ADDED'), 'as ADDED events');
});

t.test('a watch with a label selector sees objects enter and leave the selection', async (t) => {
  const watch = await recordWatch(kc, '/api/v1/namespaces/watches/configmaps', { labelSelector: 'phase in (on)' });
  t.teardown(() => watch.stop());
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  await core.createNamespacedConfigMap({ namespace: 'watches', body: configMap('toggled', {}, { phase: 'off' }) });
  await core.patchNamespacedConfigMap({ namespace: 'watches', name: 'toggled', body: { metadata: { labels: { phase: 'on' } } } }, merge);
  await core.patchNamespacedConfigMap({ namespace: 'watches', name: 'toggled', body: { data: { still: 'on' } } }, merge);
  await core.patchNamespacedConfigMap({ namespace: 'watches', name: 'toggled', body: { metadata: { labels: { phase: 'off' } } } }, merge);
  await watch.next(named('DELETED', 'toggled'), 'the object to leave the selection');
  t.same(watch.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED'], 'entering is ADDED, a change inside is MODIFIED, leaving is DELETED');
  t.equal(watch.events[2]?.object.metadata?.labels?.phase, 'off', 'the DELETED event carries the object as it is now');
  await core.deleteNamespacedConfigMap({ namespace: 'watches', name: 'toggled' });
});

t.test('watch from a compacted resourceVersion gets ERROR 410', async (t) => {
  const old = await core.createNamespacedConfigMap({ namespace: 'watches', body: configMap('expired') });
  await core.deleteNamespacedConfigMap({ namespace: 'watches', name: 'expired' });
  cluster.faults.expireResourceVersions();
  const watch = await recordWatch(kc, '/api/v1/namespaces/watches/configmaps', { resourceVersion: old.metadata?.resourceVersion });
  const error = await watch.next((e) => e.type === 'ERROR', 'an ERROR event');
  t.match(error.object, { kind: 'Status', code: 410, reason: 'Expired' });
  t.match(error.object.message, /too old resource version/);
  await watch.closed('the server to close the expired watch');
  t.equal(watch.events.length, 1, 'nothing but the error');
});

t.test('an informer sees add, update and delete', async (t) => {
  const informer = makeInformer(kc, '/api/v1/namespaces/informer/configmaps', () => core.listNamespacedConfigMap({ namespace: 'informer' }));
  const seen: string[] = [];
  informer.on('add', (o) => o.metadata?.name !== ROOT_CA && seen.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => seen.push(`update ${o.metadata?.name} ${(o as V1ConfigMap).data?.v}`));
  informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
  await core.createNamespacedConfigMap({ namespace: 'informer', body: configMap('existing', { v: '0' }) });
  await informer.start();
  t.teardown(() => informer.stop());
  await waitFor(() => seen.includes('add existing'), { what: 'the informer to list the existing object' });

  await core.createNamespacedConfigMap({ namespace: 'informer', body: configMap('i1', { v: '1' }) });
  await waitFor(() => seen.includes('add i1'), { what: 'the informer to see i1 added' });
  await core.patchNamespacedConfigMap({ namespace: 'informer', name: 'i1', body: { data: { v: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await waitFor(() => seen.includes('update i1 2'), { what: 'the informer to see i1 updated' });
  t.equal(informer.get('i1', 'informer')?.data?.v, '2', 'the cache holds the new version');
  await core.deleteNamespacedConfigMap({ namespace: 'informer', name: 'i1' });
  await waitFor(() => seen.includes('delete i1'), { what: 'the informer to see i1 deleted' });
  t.same(seen, ['add existing', 'add i1', 'update i1 2', 'delete i1']);
  t.same(ours(informer.list('informer')).map((o) => o.metadata?.name), ['existing']);
});

t.test('bookmarks come only with allowWatchBookmarks', async (t) => {
  const plain = await recordWatch(kc, '/api/v1/namespaces/watches/configmaps', { resourceVersion: '0' });
  const withBookmarks = await recordWatch(kc, '/api/v1/namespaces/watches/configmaps', { allowWatchBookmarks: true, resourceVersion: '0' });
  t.teardown(() => {
    plain.stop();
    withBookmarks.stop();
  });
  await waitFor(() => withBookmarks.events.filter((e) => e.type === 'BOOKMARK').length >= 2, { what: 'two bookmarks' });
  const bookmark = withBookmarks.events.find((e) => e.type === 'BOOKMARK')!;
  t.match(bookmark.object, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: /^\d+$/ } });
  t.equal(plain.events.filter((e) => e.type === 'BOOKMARK').length, 0, 'a watch that did not ask gets none');
});

t.test('the server ends a watch after timeoutSeconds', async (t) => {
  const started = Date.now();
  const watch = await recordWatch(kc, '/api/v1/namespaces/watches/configmaps', { timeoutSeconds: 1 });
  const ended = await watch.closed('the server-side timeout to end the watch', 5_000);
  const elapsed = (watch.endedAt ?? Date.now()) - started;
  t.equal(ended.error, null, 'a clean end, not an error');
  t.ok(elapsed >= 900 && elapsed < 4_000, `ended after about a second (${elapsed} ms)`);
});

t.test('dryRun=All validates and answers but stores nothing', async (t) => {
  const dry = await core.createNamespacedConfigMap({ namespace: 'dry', body: configMap('dry-run', { x: '1' }), dryRun: 'All' });
  t.equal(dry.metadata?.name, 'dry-run', 'the answer is the object as it would be stored');
  t.ok(dry.metadata?.uid, 'with the fields the server fills in');
  t.equal((await apiFailure(core.readNamespacedConfigMap({ namespace: 'dry', name: 'dry-run' }))).httpCode, 404, 'nothing was stored');

  const invalid = await apiFailure(batch.createNamespacedJob({ namespace: 'dry', body: shellJob('Bad_Name', 'true'), dryRun: 'All' }));
  t.equal(invalid.httpCode, 422, 'a dry run still validates');

  const real = await core.createNamespacedConfigMap({ namespace: 'dry', body: configMap('real', { x: '1' }) });
  const dryUpdate = await core.replaceNamespacedConfigMap({ namespace: 'dry', name: 'real', body: { ...real, data: { x: '2' } }, dryRun: 'All' });
  t.same(dryUpdate.data, { x: '2' });
  const dryPatch = await core.patchNamespacedConfigMap({ namespace: 'dry', name: 'real', body: [{ op: 'add', path: '/data/y', value: '3' }], dryRun: 'All' });
  t.same(dryPatch.data, { x: '1', y: '3' });
  await core.deleteNamespacedConfigMap({ namespace: 'dry', name: 'real', dryRun: 'All' });
  const after = await core.readNamespacedConfigMap({ namespace: 'dry', name: 'real' });
  t.same(after.data, { x: '1' }, 'dry-run update, patch and delete left the object as it was');
  t.equal(after.metadata?.resourceVersion, real.metadata?.resourceVersion, 'not even its resourceVersion changed');

  const badValue = await apiFailure(core.createNamespacedConfigMap({ namespace: 'dry', body: configMap('x'), dryRun: 'Some' }));
  t.equal(badValue.httpCode, 400, 'dryRun values other than All are refused');
});

t.test('Log reads a finished Job pod', async (t) => {
  await batch.createNamespacedJob({ namespace: 'crud', body: shellJob('logged', 'echo one; echo two') });
  await waitFor(async () => conditionOf(await batch.readNamespacedJob({ namespace: 'crud', name: 'logged' }), 'Complete'), { what: 'job logged to complete' });
  const pods = await core.listNamespacedPod({ namespace: 'crud', labelSelector: 'job-name=logged' });
  t.equal(pods.items.length, 1);
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const finished = new Promise((resolve) => sink.on('end', resolve));
  await new Log(kc).log('crud', pods.items[0]!.metadata!.name!, 'main', sink, { follow: false });
  await within(finished, { what: 'the log stream to end' });
  t.equal(Buffer.concat(chunks).toString(), 'one\ntwo\n');
});
