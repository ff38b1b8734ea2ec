import t from 'tap';
import { applyJsonPatch } from '../../local-cluster/api-server/patch/json-patch.js';
import { applyMergePatch } from '../../local-cluster/api-server/patch/merge-patch.js';
import { PatchError } from '../../local-cluster/api-server/patch/patch-error.js';
import { applyStrategicMergePatch } from '../../local-cluster/api-server/patch/strategic-merge-patch.js';

/** Freezes a value deeply, so any attempt to modify an input throws. */
function frozen<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) frozen(member);
    Object.freeze(value);
  }
  return value;
}

const patchError = (status: 400 | 422, message: string): PatchError => new PatchError(message, status);

t.test('applyJsonPatch applies RFC 6902 operations', async (t) => {
  const doc = {
    metadata: { name: 'p', labels: { app: 'x' }, annotations: { 'example.com/a': '1' } },
    spec: { list: [1, 2, 3] },
  };
  const cases: Array<[string, unknown, unknown, unknown]> = [
    ['empty patch', doc, [], doc],
    ['null patch decodes to no operations', doc, null, doc],
    [
      'add a member',
      doc,
      [{ op: 'add', path: '/metadata/labels/tier', value: 'db' }],
      { ...doc, metadata: { ...doc.metadata, labels: { app: 'x', tier: 'db' } } },
    ],
    [
      'remove a member with an escaped path',
      doc,
      [{ op: 'remove', path: '/metadata/annotations/example.com~1a' }],
      { ...doc, metadata: { ...doc.metadata, annotations: {} } },
    ],
    ['replace', doc, [{ op: 'replace', path: '/spec/list/0', value: 9 }], { ...doc, spec: { list: [9, 2, 3] } }],
    [
      'replace of a missing member of an existing object adds it (json-patch v4, as the apiserver)',
      doc,
      [{ op: 'replace', path: '/metadata/labels/new', value: 'v' }],
      { ...doc, metadata: { ...doc.metadata, labels: { app: 'x', new: 'v' } } },
    ],
    ['append with -', doc, [{ op: 'add', path: '/spec/list/-', value: 4 }], { ...doc, spec: { list: [1, 2, 3, 4] } }],
    ['insert at an index', doc, [{ op: 'add', path: '/spec/list/1', value: 7 }], { ...doc, spec: { list: [1, 7, 2, 3] } }],
    [
      'move',
      doc,
      [{ op: 'move', from: '/metadata/labels', path: '/spec/labels' }],
      { metadata: { name: 'p', annotations: doc.metadata.annotations }, spec: { list: [1, 2, 3], labels: { app: 'x' } } },
    ],
    [
      'copy',
      doc,
      [{ op: 'copy', from: '/metadata/name', path: '/spec/name' }],
      { ...doc, spec: { list: [1, 2, 3], name: 'p' } },
    ],
    [
      'test then replace',
      doc,
      [
        { op: 'test', path: '/metadata/name', value: 'p' },
        { op: 'replace', path: '/metadata/name', value: 'q' },
      ],
      { ...doc, metadata: { ...doc.metadata, name: 'q' } },
    ],
    ['replace the whole document', doc, [{ op: 'replace', path: '', value: { a: 1 } }], { a: 1 }],
    [
      'operations apply in sequence',
      { a: {} },
      [
        { op: 'add', path: '/a/b', value: {} },
        { op: 'add', path: '/a/b/c', value: 1 },
        { op: 'remove', path: '/a/b/c' },
      ],
      { a: { b: {} } },
    ],
  ];
  for (const [name, input, patch, expected] of cases) {
    t.same(applyJsonPatch(frozen(structuredClone(input)), frozen(structuredClone(patch))), expected, name);
  }
});

t.test('applyJsonPatch refuses bad patches with the apiserver status and wording', async (t) => {
  const doc = { metadata: { name: 'p', labels: { app: 'x' } }, list: [1] };
  const cases: Array<[string, unknown, PatchError]> = [
    ['an object', { op: 'add' }, patchError(400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch')],
    ['a string', 'add', patchError(400, 'json: cannot unmarshal string into Go value of type jsonpatch.Patch')],
    ['a non-object operation', [1], patchError(400, 'json: cannot unmarshal number into Go value of type jsonpatch.Operation')],
    ['a nested array operation', [[]], patchError(400, 'json: cannot unmarshal array into Go value of type jsonpatch.Operation')],
    ['a null operation', [null], patchError(422, 'Unexpected kind: unknown')],
    ['an operation without op', [{ path: '/a' }], patchError(422, 'Unexpected kind: unknown')],
    ['an unknown op', [{ op: 'merge', path: '/a', value: 1 }], patchError(422, 'Unexpected kind: merge')],
    [
      'a failing test',
      [{ op: 'test', path: '/metadata/name', value: 'other' }],
      patchError(422, 'testing value /metadata/name failed: test failed'),
    ],
    [
      'removing a missing member',
      [{ op: 'remove', path: '/metadata/labels/nope' }],
      patchError(422, 'remove operation does not apply: doc is missing path: "/metadata/labels/nope": missing value'),
    ],
    [
      'replacing under a missing parent',
      [{ op: 'replace', path: '/spec/x', value: 1 }],
      patchError(422, 'replace operation does not apply: doc is missing path: "/spec/x": missing value'),
    ],
    [
      'replacing deep under a missing parent',
      [{ op: 'replace', path: '/spec/x/y', value: 1 }],
      patchError(422, 'replace operation does not apply: doc is missing path: "/spec/x/y": missing value'),
    ],
    [
      'adding under a missing parent',
      [{ op: 'add', path: '/spec/x/y', value: 1 }],
      patchError(422, 'add operation does not apply: doc is missing path: "/spec/x/y": missing value'),
    ],
    [
      'moving from a missing path',
      [{ op: 'move', from: '/nope', path: '/x' }],
      patchError(422, 'move operation does not apply: doc is missing from path: /nope: missing value'),
    ],
    [
      'an index past the end',
      [{ op: 'add', path: '/list/5', value: 1 }],
      patchError(422, "error in add for path: '/list/5': Unable to access invalid index: 5: invalid index referenced"),
    ],
    [
      'an add without value',
      [{ op: 'add', path: '/x' }],
      patchError(
        422,
        'add operation failed: Operation `value` property is not present (applicable in `add`, `replace` and `test` operations)',
      ),
    ],
  ];
  for (const [name, patch, error] of cases) t.throws(() => applyJsonPatch(doc, patch), error, name);

  const input = { a: { b: 1 } };
  t.throws(() => applyJsonPatch(input, [{ op: 'remove', path: '/a/b' }, { op: 'test', path: '/a/b', value: 1 }]));
  t.same(input, { a: { b: 1 } }, 'a failed patch leaves the input untouched');
  const added = { deep: { x: 1 } };
  const result = applyJsonPatch({}, [{ op: 'add', path: '/v', value: added }]) as { v: { deep: { x: number } } };
  result.v.deep.x = 2;
  t.equal(added.deep.x, 1, 'the result shares no structure with the patch');
});

t.test('applyMergePatch follows RFC 7386', async (t) => {
  // RFC 7386 appendix A, plus Kubernetes-shaped cases.
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    [
      { metadata: { labels: { a: '1', b: '2' }, finalizers: ['x', 'y'] } },
      { metadata: { labels: { b: null, c: '3' }, finalizers: ['z'] } },
      { metadata: { labels: { a: '1', c: '3' }, finalizers: ['z'] } },
    ],
  ];
  for (const [doc, patch, expected] of cases) {
    t.same(applyMergePatch(frozen(structuredClone(doc)), frozen(structuredClone(patch))), expected, JSON.stringify(patch));
  }
  const withProto = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
  t.ok(Object.hasOwn(withProto, '__proto__'), '"__proto__" stays an ordinary member');
  t.equal(Object.getPrototypeOf(withProto), Object.prototype);
});

const container = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, ...extra });
const env = (name: string, value: string): Record<string, unknown> => ({ name, value });

t.test('applyStrategicMergePatch merges with the per-kind strategies', async (t) => {
  const cases: Array<[string, string, unknown, unknown, unknown]> = [
    [
      'maps merge and null deletes a key',
      'Pod',
      { metadata: { name: 'p', labels: { a: '1', b: '2' } } },
      { metadata: { labels: { b: null, c: '3' } } },
      { metadata: { name: 'p', labels: { a: '1', c: '3' } } },
    ],
    [
      'a finalizer is added without dropping the others (new items go first, as in Go)',
      'Job',
      { metadata: { finalizers: ['a', 'b'] } },
      { metadata: { finalizers: ['c'] } },
      { metadata: { finalizers: ['c', 'a', 'b'] } },
    ],
    [
      'a finalizer already present is not duplicated',
      'Pod',
      { metadata: { finalizers: ['a', 'b'] } },
      { metadata: { finalizers: ['b'] } },
      { metadata: { finalizers: ['a', 'b'] } },
    ],
    [
      '$deleteFromPrimitiveList/finalizers removes just those finalizers',
      'Pod',
      { metadata: { finalizers: ['a', 'b', 'c', 'b'] } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'zz'] } },
      { metadata: { finalizers: ['a', 'c'] } },
    ],
    [
      '$deleteFromPrimitiveList on a missing list adds nothing',
      'Pod',
      { metadata: { name: 'p' } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      { metadata: { name: 'p' } },
    ],
    [
      '$setElementOrder reorders a primitive list',
      'Pod',
      { metadata: { finalizers: ['a', 'b', 'c'] } },
      { metadata: { '$setElementOrder/finalizers': ['c', 'a', 'b'] } },
      { metadata: { finalizers: ['c', 'a', 'b'] } },
    ],
    [
      'add and delete in a primitive list with $setElementOrder',
      'Pod',
      { metadata: { finalizers: ['1', '2', '3', '4'] } },
      { metadata: { '$setElementOrder/finalizers': ['1', '2', '5'], '$deleteFromPrimitiveList/finalizers': ['3'], finalizers: ['5'] } },
      { metadata: { finalizers: ['1', '2', '5', '4'] } },
    ],
    [
      'a container is deleted with $patch: delete',
      'Pod',
      { spec: { containers: [container('main'), container('sidecar')] } },
      { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } },
      { spec: { containers: [container('main')] } },
    ],
    [
      'containers merge by name',
      'Pod',
      { spec: { containers: [container('main', { image: 'a:1', args: ['x'] }), container('side', { image: 's:1' })] } },
      { spec: { containers: [{ name: 'side', image: 's:2' }] } },
      { spec: { containers: [container('main', { image: 'a:1', args: ['x'] }), container('side', { image: 's:2' })] } },
    ],
    [
      'env merges by name: a new variable goes first, a deleted one disappears',
      'Pod',
      { spec: { containers: [container('main', { env: [env('A', '1'), env('B', '2')] })] } },
      { spec: { containers: [{ name: 'main', env: [env('C', '3'), { name: 'A', $patch: 'delete' }] }] } },
      { spec: { containers: [container('main', { env: [env('C', '3'), env('B', '2')] })] } },
    ],
    [
      'the patch order wins for items it mentions (Go: "preserve the order from the patch")',
      'Pod',
      { spec: { containers: [container('main', { env: [env('A', ''), env('B', 'b'), env('C', '')] })] } },
      { spec: { containers: [{ name: 'main', env: [env('C', 'c'), env('A', 'a')] }] } },
      { spec: { containers: [container('main', { env: [env('B', 'b'), env('C', 'c'), env('A', 'a')] })] } },
    ],
    [
      '$setElementOrder places new and live items (Go: "merge lists of maps")',
      'Pod',
      { spec: { containers: [container('1', { other: 'a' }), container('2', { value: '2', other: 'b' })] } },
      {
        spec: {
          '$setElementOrder/containers': [{ name: '4' }, { name: '1' }, { name: '2' }, { name: '3' }],
          containers: [container('4', { value: '4' }), container('3', { value: '3' })],
        },
      },
      {
        spec: {
          containers: [
            container('4', { value: '4' }),
            container('1', { other: 'a' }),
            container('2', { value: '2', other: 'b' }),
            container('3', { value: '3' }),
          ],
        },
      },
    ],
    [
      'ports merge by containerPort, volumeMounts by mountPath',
      'Pod',
      {
        spec: {
          containers: [
            container('main', {
              ports: [{ containerPort: 80, name: 'http' }],
              volumeMounts: [{ mountPath: '/data', name: 'data' }],
            }),
          ],
        },
      },
      {
        spec: {
          containers: [
            {
              name: 'main',
              ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }],
              volumeMounts: [{ mountPath: '/data', readOnly: true }],
            },
          ],
        },
      },
      {
        spec: {
          containers: [
            container('main', {
              ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }, { containerPort: 443 }],
              volumeMounts: [{ mountPath: '/data', name: 'data', readOnly: true }],
            }),
          ],
        },
      },
    ],
    [
      'init and ephemeral containers, pull secrets and host aliases merge by key',
      'Pod',
      {
        spec: {
          initContainers: [container('init', { image: 'i:1' })],
          ephemeralContainers: [container('debug', { image: 'd:1' })],
          imagePullSecrets: [{ name: 'reg-a' }],
          hostAliases: [{ ip: '10.0.0.1', hostnames: ['a'] }],
        },
      },
      {
        spec: {
          initContainers: [{ name: 'init', image: 'i:2' }],
          ephemeralContainers: [container('debug2')],
          imagePullSecrets: [{ name: 'reg-b' }],
          hostAliases: [{ ip: '10.0.0.1', hostnames: ['b'] }],
        },
      },
      {
        spec: {
          initContainers: [container('init', { image: 'i:2' })],
          ephemeralContainers: [container('debug2'), container('debug', { image: 'd:1' })],
          imagePullSecrets: [{ name: 'reg-b' }, { name: 'reg-a' }],
          hostAliases: [{ ip: '10.0.0.1', hostnames: ['b'] }],
        },
      },
    ],
    [
      'volumes merge by name and honour $retainKeys',
      'Pod',
      { spec: { volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'a' } }] } },
      {
        spec: {
          '$setElementOrder/volumes': [{ name: 'data' }, { name: 'cfg' }],
          volumes: [{ name: 'data', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }],
        },
      },
      { spec: { volumes: [{ name: 'data', configMap: { name: 'cm' } }, { name: 'cfg', configMap: { name: 'a' } }] } },
    ],
    [
      'lists without a strategy are replaced',
      'Pod',
      { spec: { containers: [container('main', { args: ['a', 'b'], command: ['x'] })], tolerations: [{ key: 'a' }] } },
      { spec: { containers: [{ name: 'main', args: ['c'] }], tolerations: [{ key: 'b', value: null }] } },
      { spec: { containers: [container('main', { args: ['c'], command: ['x'] })], tolerations: [{ key: 'b' }] } },
    ],
    [
      'pod status conditions merge by type, podIPs by ip',
      'Pod',
      {
        status: {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'False' }],
          podIPs: [{ ip: '10.0.0.1' }],
          containerStatuses: [{ name: 'main', ready: false }],
        },
      },
      {
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          podIPs: [{ ip: 'fd00::1' }],
          containerStatuses: [{ name: 'main', ready: true }],
        },
      },
      {
        status: {
          phase: 'Running',
          conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }],
          podIPs: [{ ip: 'fd00::1' }, { ip: '10.0.0.1' }],
          containerStatuses: [{ name: 'main', ready: true }],
        },
      },
    ],
    [
      'job status conditions merge by type; template containers merge by name',
      'Job',
      {
        spec: { template: { metadata: { finalizers: ['t'] }, spec: { containers: [container('main', { image: 'a' })] } } },
        status: { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] },
      },
      {
        spec: { template: { metadata: { finalizers: ['u'] }, spec: { containers: [{ name: 'main', image: 'b' }] } } },
        status: { conditions: [{ type: 'Complete', status: 'True' }] },
      },
      {
        spec: { template: { metadata: { finalizers: ['u', 't'] }, spec: { containers: [container('main', { image: 'b' })] } } },
        status: {
          conditions: [{ type: 'Complete', status: 'True' }, { type: 'SuccessCriteriaMet', status: 'True' }],
        },
      },
    ],
    [
      'ownerReferences merge by uid',
      'Pod',
      { metadata: { ownerReferences: [{ uid: 'u1', kind: 'Job', name: 'a' }] } },
      { metadata: { ownerReferences: [{ uid: 'u1', controller: true }, { uid: 'u2', kind: 'Job', name: 'b' }] } },
      {
        metadata: {
          ownerReferences: [{ uid: 'u1', kind: 'Job', name: 'a', controller: true }, { uid: 'u2', kind: 'Job', name: 'b' }],
        },
      },
    ],
    [
      'namespace status conditions merge by type',
      'Namespace',
      { status: { phase: 'Active', conditions: [{ type: 'A', status: 'True' }] } },
      { status: { conditions: [{ type: 'B', status: 'False' }] } },
      { status: { phase: 'Active', conditions: [{ type: 'B', status: 'False' }, { type: 'A', status: 'True' }] } },
    ],
    [
      'service ports merge by port',
      'Service',
      { spec: { ports: [{ port: 80, targetPort: 8080 }] } },
      { spec: { ports: [{ port: 80, name: 'http' }] } },
      { spec: { ports: [{ port: 80, targetPort: 8080, name: 'http' }] } },
    ],
    [
      'webhooks merge by name',
      'MutatingWebhookConfiguration',
      { webhooks: [{ name: 'a.example.com', clientConfig: { caBundle: 'old' }, rules: [{ operations: ['CREATE'] }] }] },
      { webhooks: [{ name: 'a.example.com', clientConfig: { caBundle: 'new' } }] },
      { webhooks: [{ name: 'a.example.com', clientConfig: { caBundle: 'new' }, rules: [{ operations: ['CREATE'] }] }] },
    ],
    [
      'service account secrets merge by name',
      'ServiceAccount',
      { secrets: [{ name: 'a' }] },
      { secrets: [{ name: 'b' }] },
      { secrets: [{ name: 'b' }, { name: 'a' }] },
    ],
    [
      'PVC conditions merge by type',
      'PersistentVolumeClaim',
      { status: { conditions: [{ type: 'Resizing', status: 'True' }] } },
      { status: { conditions: [{ type: 'Resizing', status: 'False' }] } },
      { status: { conditions: [{ type: 'Resizing', status: 'False' }] } },
    ],
    [
      'secret and configmap data merge key by key',
      'Secret',
      { type: 'Opaque', data: { a: 'YQ==', b: 'Yg==' } },
      { data: { a: null, c: 'Yw==' }, stringData: { d: 'x' } },
      { type: 'Opaque', data: { b: 'Yg==', c: 'Yw==' }, stringData: { d: 'x' } },
    ],
    [
      '$patch: replace replaces a map',
      'Pod',
      { spec: { nodeSelector: { a: '1', b: '2' } } },
      { spec: { nodeSelector: { $patch: 'replace', disk: 'ssd' } } },
      { spec: { nodeSelector: { disk: 'ssd' } } },
    ],
    [
      '$patch: delete empties a map',
      'ConfigMap',
      { data: { a: '1' }, metadata: { name: 'c' } },
      { data: { $patch: 'delete' } },
      { data: {}, metadata: { name: 'c' } },
    ],
    [
      '$patch: replace in a merged list replaces the list',
      'Pod',
      { spec: { containers: [container('a'), container('b')] } },
      { spec: { containers: [{ $patch: 'replace' }, container('c', { image: 'c:1' })] } },
      { spec: { containers: [container('c', { image: 'c:1' })] } },
    ],
    [
      'new content is normalised: nulls and directives do not reach the object',
      'Pod',
      { metadata: { name: 'p' } },
      {
        metadata: { annotations: { a: '1', b: null } },
        spec: { containers: [container('main', { env: [env('A', '1'), { name: 'B', $patch: 'delete' }] })] },
      },
      { metadata: { name: 'p', annotations: { a: '1' } }, spec: { containers: [container('main', { env: [env('A', '1')] })] } },
    ],
    [
      'a value of another type replaces the live one',
      'Pod',
      { spec: { a: 'text', b: { c: 1 }, d: [1] } },
      { spec: { a: { x: 1, y: null }, b: 'now text', d: { e: 1 } } },
      { spec: { a: { x: 1 }, b: 'now text', d: { e: 1 } } },
    ],
    [
      'unknown kinds: maps merge, lists are replaced, ObjectMeta strategies still apply',
      'Widget',
      { metadata: { finalizers: ['a'], labels: { x: '1' } }, spec: { items: [1, 2], containers: [container('a')] } },
      { metadata: { finalizers: ['b'], labels: { y: '2' } }, spec: { items: [3], containers: [container('b')] } },
      { metadata: { finalizers: ['b', 'a'], labels: { x: '1', y: '2' } }, spec: { items: [3], containers: [container('b')] } },
    ],
    [
      'unknown kinds still honour directives',
      'Widget',
      { spec: { a: { b: 1 }, c: { d: 1 }, keep: 1, drop: 2 } },
      { spec: { a: { $patch: 'replace', z: 1 }, c: { $patch: 'delete' }, $retainKeys: ['a', 'c', 'keep'] } },
      { spec: { a: { z: 1 }, c: {}, keep: 1 } },
    ],
    [
      '$setElementOrder orders a list the live object does not have yet',
      'Pod',
      { spec: { containers: [container('main')] } },
      { spec: { containers: [{ name: 'main', '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }], env: [env('A', '1'), { name: 'B', $patch: 'delete' }] }] } },
      { spec: { containers: [container('main', { env: [env('A', '1')] })] } },
    ],
    [
      '$setElementOrder for a list neither side has adds nothing',
      'Pod',
      { spec: { containers: [container('main')] } },
      { spec: { containers: [{ name: 'main', '$setElementOrder/env': [] }] } },
      { spec: { containers: [container('main')] } },
    ],
    [
      '$setElementOrder on a list without strategy still replaces the list',
      'Widget',
      { spec: { args: ['a', 'b'] } },
      { spec: { '$setElementOrder/args': ['c', 'd'], args: ['c', 'd'] } },
      { spec: { args: ['c', 'd'] } },
    ],
    ['a document that is not an object is patched as {}', 'Pod', undefined, { metadata: { name: 'p' } }, { metadata: { name: 'p' } }],
    ['an empty patch changes nothing', 'Pod', { metadata: { name: 'p' } }, {}, { metadata: { name: 'p' } }],
    ['a null patch changes nothing', 'Pod', { metadata: { name: 'p' } }, null, { metadata: { name: 'p' } }],
  ];
  for (const [name, kind, doc, patch, expected] of cases) {
    t.same(applyStrategicMergePatch(frozen(structuredClone(doc)), frozen(structuredClone(patch)), kind), expected, name);
  }
});

t.test('a kubectl apply three-way patch applies like on a real cluster', async (t) => {
  const live = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'job',
      namespace: 'ns',
      labels: { app: 'x', team: 'a' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"old":true}', other: 'keep' },
      finalizers: ['example.com/guard'],
    },
    spec: {
      backoffLimit: 3,
      template: {
        metadata: { labels: { app: 'x', 'controller-uid': 'u1' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            container('main', { image: 'img:1', env: [env('A', '1'), env('B', '2')], resources: { limits: { cpu: '1' } } }),
            // Injected by a mutating webhook: not in last-applied, so apply must keep it.
            container('injected', { image: 'proxy:1' }),
          ],
        },
      },
    },
  };
  // What kubectl apply sends after the manifest changed image, replaced env B by C, added a
  // sidecar and dropped the "team" label.
  const patch = {
    metadata: {
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}' },
      labels: { team: null },
    },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'main' }, { name: 'sidecar' }],
          containers: [
            {
              name: 'main',
              image: 'img:2',
              '$setElementOrder/env': [{ name: 'A' }, { name: 'C' }],
              env: [env('C', '3'), { $patch: 'delete', name: 'B' }],
            },
            container('sidecar', { image: 'side:1' }),
          ],
        },
      },
    },
  };
  const result = applyStrategicMergePatch(frozen(structuredClone(live)), frozen(structuredClone(patch)), 'Job');
  t.same(result, {
    ...live,
    metadata: {
      ...live.metadata,
      labels: { app: 'x' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}', other: 'keep' },
    },
    spec: {
      backoffLimit: 3,
      template: {
        metadata: live.spec.template.metadata,
        spec: {
          restartPolicy: 'Never',
          containers: [
            container('main', { image: 'img:2', env: [env('A', '1'), env('C', '3')], resources: { limits: { cpu: '1' } } }),
            container('sidecar', { image: 'side:1' }),
            container('injected', { image: 'proxy:1' }),
          ],
        },
      },
    },
  });
});

t.test('applyStrategicMergePatch refuses bad patches with the right status', async (t) => {
  const pod = {
    metadata: { name: 'p', finalizers: ['a'] },
    spec: { containers: [container('main', { env: [env('A', '1')] })] },
  };
  const cases: Array<[string, unknown, PatchError]> = [
    ['a list body', [], patchError(400, 'json: cannot unmarshal array into Go value of type map[string]interface {}')],
    ['a string body', 'x', patchError(400, 'json: cannot unmarshal string into Go value of type map[string]interface {}')],
    [
      '$patch: merge in a map',
      { spec: { $patch: 'merge', a: 'b' } },
      patchError(422, 'unknown patch type: merge in map: map[$patch:merge a:b]'),
    ],
    [
      'an unknown $patch in a list item',
      { spec: { containers: [{ name: 'x', $patch: 'foo' }] } },
      patchError(422, 'unknown patch type: foo in map: map[$patch:foo name:x]'),
    ],
    [
      '$patch: merge in a list item',
      { spec: { containers: [{ name: 'x', $patch: 'merge' }] } },
      patchError(422, 'merging lists cannot yet be specified in the patch'),
    ],
    [
      'a list item without its merge key',
      { spec: { containers: [{ image: 'x' }] } },
      patchError(422, 'map: map[image:x] does not contain declared merge key: name'),
    ],
    [
      'a delete directive without the merge key',
      { spec: { containers: [{ $patch: 'delete' }] } },
      patchError(422, 'map: map[$patch:delete] does not contain declared merge key: name'),
    ],
    [
      'a list of lists',
      { spec: { containers: [['main']] } },
      patchError(422, 'lists of lists are not supported'),
    ],
    [
      'mixed element types',
      { metadata: { finalizers: [1] } },
      patchError(422, 'list element types are not identical: [[a] [1]]'),
    ],
    [
      'objects in a primitive merge list',
      { metadata: { finalizers: [{ name: 'x' }] } },
      patchError(422, 'list element types are not identical: [[a] [map[name:x]]]'),
    ],
    [
      'a $setElementOrder that contradicts the patch list',
      { spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }], containers: [container('b'), container('a')] } },
      patchError(
        422,
        "The order in patch list:\n[map[name:b] map[name:a]]\n doesn't match $setElementOrder list:\n[map[name:a] map[name:b]]\n",
      ),
    ],
    [
      'a $setElementOrder item without the merge key',
      { spec: { '$setElementOrder/containers': [{ image: 'a' }] } },
      patchError(422, 'map: map[image:a] does not contain declared merge key: name'),
    ],
    [
      'a $setElementOrder for a live member that is not a list',
      { metadata: { '$setElementOrder/name': ['a'] } },
      patchError(422, 'expected a []interface {}, but received a string'),
    ],
    [
      'a $setElementOrder next to a patch value that is not a list',
      { spec: { '$setElementOrder/containers': [{ name: 'main' }], containers: null } },
      patchError(422, 'expected a []interface {}, but received a <nil>'),
    ],
    [
      'a $setElementOrder that is not a list',
      { spec: { '$setElementOrder/containers': 'main' } },
      patchError(422, 'expected a []interface {}, but received a string'),
    ],
    [
      'a misspelt $setElementOrder directive',
      { spec: { '$setElementOrderX/containers': [] } },
      patchError(400, 'invalid patch format of setElementOrder list'),
    ],
    [
      'a $deleteFromPrimitiveList directive without a field',
      { metadata: { $deleteFromPrimitiveList: ['a'] } },
      patchError(400, 'invalid patch format of primitive list'),
    ],
    ['a $retainKeys that is not a list', { spec: { $retainKeys: 'a' } }, patchError(400, 'invalid patch format of retainKeys')],
    [
      'a patch setting a key $retainKeys does not keep',
      { spec: { $retainKeys: ['containers'], nodeName: 'n' } },
      patchError(400, 'invalid patch format of retainKeys'),
    ],
  ];
  for (const [name, patch, error] of cases) t.throws(() => applyStrategicMergePatch(pod, patch, 'Pod'), error, name);
  t.throws(
    () => applyStrategicMergePatch({}, { metadata: { finalizers: [{ name: 'x' }] } }, 'Pod'),
    patchError(422, 'cannot merge lists without merge key for type string'),
    'objects cannot be merged into a key-less merge list',
  );
  t.same(pod.spec.containers, [container('main', { env: [env('A', '1')] })], 'the input is left untouched');
});
