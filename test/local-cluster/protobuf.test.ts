/**
 * Decoding Kubernetes protobuf request bodies (kubectl 1.32+ sends them):
 * the envelope, nested messages, maps, bytes, int64, IntOrString, times,
 * and the zero values Go writes but its JSON leaves out.
 */
import t from 'tap';
import { decodeKubernetesProtobuf, isProtobufEnvelope } from '../../local-cluster/api-server/protobuf/decode.js';

type Value = string | number | boolean | Buffer | Field[];
type Field = [number, Value];

function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** A minimal protobuf writer for the test's messages: varints for numbers and booleans, length-delimited for the rest. */
function encode(fields: Field[]): Buffer {
  return Buffer.concat(
    fields.map(([n, v]) => {
      if (typeof v === 'number' || typeof v === 'boolean') return Buffer.concat([varint(n << 3), varint(typeof v === 'boolean' ? Number(v) : v)]);
      const payload = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : encode(v);
      return Buffer.concat([varint((n << 3) | 2), varint(payload.length), payload]);
    }),
  );
}

const envelope = (apiVersion: string, kind: string, raw: Field[]): Buffer =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), encode([[1, [[1, apiVersion], [2, kind]]], [2, encode(raw)], [3, ''], [4, '']])]);

t.test('a Namespace with labels; empty strings and zero times are left out', async (t) => {
  const body = envelope('v1', 'Namespace', [
    [1, [[1, 'team-a'], [2, ''], [7, 0], [8, []], [11, [[1, 'env'], [2, 'prod']]], [11, [[1, 'tier'], [2, 'batch']]]]],
    [2, []],
    [3, [[1, '']]],
  ]);
  t.ok(isProtobufEnvelope(body));
  t.same(decodeKubernetesProtobuf(body), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'team-a', labels: { env: 'prod', tier: 'batch' } },
    spec: {},
    status: {},
  });
});

t.test('a Job: int32 zero kept where it means something, nested pod template, IntOrString, bytes', async (t) => {
  const container: Field[] = [[1, 'main'], [2, 'busybox'], [3, 'sh'], [3, '-c'], [3, 'echo hi'], [16, false]];
  const job = decodeKubernetesProtobuf(
    envelope('batch/v1', 'Job', [
      [1, [[1, 'hello'], [8, [[1, 1_700_000_000]]]]],
      [2, [[7, 0], [6, [[1, [[11, [[1, 'app'], [2, 'x']]]]], [2, [[2, container], [3, 'Never']]]]]]],
    ]),
  ) as { metadata: unknown; spec: { backoffLimit: number; template: { spec: { containers: unknown[] } } } };
  t.same(job.metadata, { name: 'hello', creationTimestamp: '2023-11-14T22:13:20Z' });
  t.equal(job.spec.backoffLimit, 0, 'backoffLimit: 0 survives');
  t.same(job.spec.template.spec.containers, [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo hi'] }], 'stdin: false is left out');

  const secret = decodeKubernetesProtobuf(envelope('v1', 'Secret', [[1, [[1, 's']]], [2, [[1, 'k'], [2, Buffer.from([0, 255])]]], [3, 'Opaque']]));
  t.same(secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'AP8=' }, type: 'Opaque' }, 'bytes become base64');

  const pdb = decodeKubernetesProtobuf(envelope('policy/v1', 'PodDisruptionBudget', [[1, [[1, 'p']]], [2, [[1, [[1, 1], [3, '50%']]], [3, [[1, [[1, 0], [2, 2]]]]]]]]));
  t.match(pdb, { spec: { minAvailable: '50%', maxUnavailable: 2 } }, 'IntOrString as string or number');
});

t.test('review kinds kubectl sends: TokenRequest, SelfSubjectAccessReview with ExtraValue', async (t) => {
  t.same(decodeKubernetesProtobuf(envelope('authentication.k8s.io/v1', 'TokenRequest', [[1, []], [2, [[1, 'api'], [4, 3600]]]])), {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: {},
    spec: { audiences: ['api'], expirationSeconds: 3600 },
  });
  const sar = decodeKubernetesProtobuf(
    envelope('authorization.k8s.io/v1', 'SubjectAccessReview', [[2, [[1, [[1, 'ns'], [2, 'get'], [5, 'pods']]], [3, 'alice'], [4, 'dev'], [5, [[1, 'scope'], [2, [[1, 'a'], [1, 'b']]]]]]]]),
  );
  t.match(sar, { spec: { resourceAttributes: { namespace: 'ns', verb: 'get', resource: 'pods' }, user: 'alice', groups: ['dev'], extra: { scope: ['a', 'b'] } } });
});

t.test('bad bodies are errors that name the problem', async (t) => {
  t.throws(() => decodeKubernetesProtobuf(Buffer.from('{"kind":"Pod"}')), { name: 'ProtobufError' }, 'no envelope');
  t.throws(() => decodeKubernetesProtobuf(envelope('v1', 'Node', [])), /no protobuf decoding for v1 Node/);
  const truncated = envelope('v1', 'ConfigMap', [[1, [[1, 'cm']]]]);
  t.throws(() => decodeKubernetesProtobuf(truncated.subarray(0, truncated.length - 5)), { name: 'ProtobufError' }, 'truncated');
  t.throws(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', [[1, 7]])), { name: 'ProtobufError', message: /meta\.v1\.ObjectMeta needs a length-delimited field/ }, 'a message sent as a number');
});
