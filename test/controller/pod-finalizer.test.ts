import t from 'tap';
import jsonpatch from 'fast-json-patch';
import type { V1Pod } from '@kubernetes/client-node';
import { addFinalizerPatch, removeFinalizerPatch } from '../../controller/pod-finalizer.js';

const OURS = 'pygeoapi.io/finalizer-log-retrieval';

function apply(pod: V1Pod, patch: unknown[]): V1Pod {
  return jsonpatch.applyPatch(structuredClone(pod), patch as jsonpatch.Operation[], true, false).newDocument;
}

const pod = (finalizers?: string[], resourceVersion = '7'): V1Pod => ({ metadata: { name: 'p', resourceVersion, ...(finalizers ? { finalizers } : {}) } });

t.test('add: appends ours, only to the version it was computed for', async (t) => {
  t.same(apply(pod(), addFinalizerPatch(pod())!).metadata?.finalizers, [OURS]);
  t.same(apply(pod(['a']), addFinalizerPatch(pod(['a']))!).metadata?.finalizers, ['a', OURS]);
  t.equal(addFinalizerPatch(pod(['a', OURS])), undefined, 'nothing to do');
  // Someone else changed the pod meanwhile: the patch must not apply (it would overwrite their finalizers).
  t.throws(() => apply(pod(['b'], '8'), addFinalizerPatch(pod())!), { name: 'TEST_OPERATION_FAILED' });
});

t.test('remove: exactly our entry, nothing else', async (t) => {
  t.same(apply(pod([OURS]), removeFinalizerPatch(pod([OURS]))!).metadata?.finalizers, []);
  t.same(apply(pod(['a', OURS, 'b']), removeFinalizerPatch(pod(['a', OURS, 'b']))!).metadata?.finalizers, ['a', 'b']);
  t.equal(removeFinalizerPatch(pod(['a'])), undefined);
  t.equal(removeFinalizerPatch(pod()), undefined);
  // The list shifted since we read it: the test op fails instead of removing someone else's entry.
  const stale = removeFinalizerPatch(pod(['a', OURS]))!;
  t.throws(() => apply(pod([OURS]), stale), { name: 'TEST_OPERATION_FAILED' });
  t.throws(() => apply(pod(['x', 'a', OURS]), stale), { name: 'TEST_OPERATION_FAILED' });
});
