/**
 * Request bodies in Kubernetes' protobuf encoding (what kubectl 1.32+ sends
 * for its imperative `create` commands, `create token` and `auth can-i`):
 * the `k8s\0` envelope around a runtime.Unknown whose typeMeta names the kind
 * and whose raw bytes are that kind's message. Decoded into the same JSON
 * objects the JSON decoder produces, by the field table in schema.json
 * (generated from the Kubernetes API's .proto files by
 * scripts/local-cluster-protobuf-schema.mjs). Fields the table does not know
 * are skipped, as protobuf decoders do. The schema has no recursive messages,
 * so nesting is bounded by it.
 */
import schema from './schema.json' with { type: 'json' };

/** [number, jsonName, type, repeated] */
type FieldSpec = [number, string, string, 0 | 1];
interface Schema {
  roots: Record<string, string>;
  messages: Record<string, FieldSpec[]>;
}

const SCHEMA = schema as unknown as Schema;
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export class ProtobufError extends Error {
  override name = 'ProtobufError';
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new ProtobufError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError('varint too long');
    }
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.pos + length > this.buf.length) throw new ProtobufError('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wireType}`);
    if (this.pos > this.buf.length) throw new ProtobufError('truncated field');
  }
}

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const iso = new Date(seconds * 1000).toISOString();
  return micro ? `${iso.slice(0, 19)}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso.slice(0, 19)}Z`;
}

function scalar(type: string, wireType: number, reader: Reader): unknown {
  switch (type) {
    case 'string':
      return reader.bytes().toString('utf8');
    case 'bytes':
      return reader.bytes().toString('base64');
    case 'bool':
      return reader.varint() !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, reader.varint()));
    case 'int64':
      return Number(BigInt.asIntN(64, reader.varint()));
    case 'double': {
      if (wireType !== 1) throw new ProtobufError('double without fixed64 wire type');
      const value = reader.buf.readDoubleLE(reader.pos);
      reader.pos += 8;
      return value;
    }
    default:
      throw new ProtobufError(`unsupported scalar type ${type}`);
  }
}

/**
 * Non-pointer numbers and booleans Go always writes and its JSON encoder
 * omits when zero (the schema cannot tell them from pointers, whose zero is
 * meaningful, like backoffLimit: 0): the ones kubectl's objects carry.
 */
const ZERO_OMITTED = new Set([
  'meta.v1.ObjectMeta.generation',
  'core.v1.Container.stdin',
  'core.v1.Container.stdinOnce',
  'core.v1.Container.tty',
  'core.v1.PodSpec.hostNetwork',
  'core.v1.PodSpec.hostPID',
  'core.v1.PodSpec.hostIPC',
]);

/** A zero time: JSON null, left out of the object. */
const ABSENT = Symbol('absent');

/** Messages whose JSON form is not an object. */
function special(name: string, fields: Record<string, unknown>): { value: unknown } | undefined {
  switch (name) {
    case 'meta.v1.Time':
      return { value: fields.seconds ? rfc3339(Number(fields.seconds), 0, false) : ABSENT };
    case 'meta.v1.MicroTime':
      return { value: fields.seconds ? rfc3339(Number(fields.seconds), Number(fields.nanos ?? 0), true) : ABSENT };
    case 'meta.v1.Duration':
      return { value: `${Number(fields.duration ?? 0) / 1e9}s` };
    case 'api.resource.Quantity':
      return { value: fields.string ?? '0' };
    case 'util.intstr.IntOrString':
      return { value: Number(fields.type ?? 0) === 1 ? (fields.strVal ?? '') : (fields.intVal ?? 0) };
    case 'meta.v1.FieldsV1':
    case 'runtime.RawExtension': {
      const raw = typeof fields.Raw === 'string' ? fields.Raw : fields.raw;
      return { value: typeof raw === 'string' ? JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) : {} };
    }
    default:
      // authentication/authorization ExtraValue and similar named string lists.
      if (name.endsWith('.ExtraValue')) return { value: fields.items ?? [] };
      return undefined;
  }
}

function decodeValue(type: string, wireType: number, reader: Reader): unknown {
  if (SCHEMA.messages[type]) {
    if (wireType !== 2) throw new ProtobufError(`${type} needs a length-delimited field`);
    return decodeMessage(type, reader.bytes());
  }
  return scalar(type, wireType, reader);
}

function decodeMessage(name: string, buf: Buffer): unknown {
  const specs = SCHEMA.messages[name];
  if (!specs) throw new ProtobufError(`no schema for ${name}`);
  const byNumber = new Map(specs.map((s) => [s[0], s]));
  const out: Record<string, unknown> = {};
  const reader = new Reader(buf);
  while (!reader.done) {
    const key = Number(reader.varint());
    const number = key >>> 3;
    const wireType = key & 7;
    const spec = byNumber.get(number);
    if (!spec) {
      reader.skip(wireType);
      continue;
    }
    const [, field, type, repeated] = spec;
    if (type.startsWith('map<')) {
      const [keyType, valueType] = type.slice(4, -1).split(',') as [string, string];
      const entry = new Reader(reader.bytes());
      let k: unknown = '';
      let v: unknown = SCHEMA.messages[valueType] ? {} : valueType === 'string' || valueType === 'bytes' ? '' : 0;
      while (!entry.done) {
        const entryKey = Number(entry.varint());
        if (entryKey >>> 3 === 1) k = decodeValue(keyType, entryKey & 7, entry);
        else if (entryKey >>> 3 === 2) v = decodeValue(valueType, entryKey & 7, entry);
        else entry.skip(entryKey & 7);
      }
      const map = (out[field] ??= {}) as Record<string, unknown>;
      map[String(k)] = v;
    } else if (repeated) {
      const list = (out[field] ??= []) as unknown[];
      if (wireType === 2 && !SCHEMA.messages[type] && type !== 'string' && type !== 'bytes') {
        // A packed run of scalars.
        const packed = new Reader(reader.bytes());
        while (!packed.done) list.push(scalar(type, type === 'double' ? 1 : 0, packed));
      } else list.push(decodeValue(type, wireType, reader));
    } else {
      // Go writes every non-pointer field, empty ones too; its JSON encoder leaves them out (omitempty).
      const value = decodeValue(type, wireType, reader);
      if (value !== '' && value !== ABSENT && !(ZERO_OMITTED.has(`${name}.${field}`) && (value === 0 || value === false))) out[field] = value;
      else delete out[field];
    }
  }
  const converted = special(name, out);
  return converted ? converted.value : out;
}

/** True when the body carries the protobuf envelope. */
export function isProtobufEnvelope(body: Buffer): boolean {
  return body.length >= MAGIC.length && body.subarray(0, MAGIC.length).equals(MAGIC);
}

/** Decodes an `application/vnd.kubernetes.protobuf` body into its JSON object form. */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (!isProtobufEnvelope(body)) throw new ProtobufError('the body does not start with the protobuf envelope');
  const envelope = new Reader(body.subarray(MAGIC.length));
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  while (!envelope.done) {
    const key = Number(envelope.varint());
    if (key >>> 3 === 1 && (key & 7) === 2) {
      const typeMeta = new Reader(envelope.bytes());
      while (!typeMeta.done) {
        const k = Number(typeMeta.varint());
        if (k >>> 3 === 1) apiVersion = typeMeta.bytes().toString('utf8');
        else if (k >>> 3 === 2) kind = typeMeta.bytes().toString('utf8');
        else typeMeta.skip(k & 7);
      }
    } else if (key >>> 3 === 2 && (key & 7) === 2) raw = envelope.bytes();
    else envelope.skip(key & 7);
  }
  const root = SCHEMA.roots[`${apiVersion}/${kind}`] ?? (kind === 'DeleteOptions' ? 'meta.v1.DeleteOptions' : undefined);
  if (!root) throw new ProtobufError(`no protobuf decoding for ${apiVersion} ${kind}`);
  const decoded = decodeMessage(root, raw ?? Buffer.alloc(0)) as Record<string, unknown>;
  return { apiVersion, kind, ...decoded };
}
