/**
 * Kubernetes objects between their wire form (JSON, RFC 3339 strings) and
 * client-node's V1* types (Dates), with client-node's own model codec, so
 * objects read through KubeHttp have the types the rest of the code expects.
 */
// The model codec is not re-exported by the package root in 1.x.
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';

/** A client-node model name, e.g. 'V1Job', 'V1Pod', 'CoreV1Event'. */
export type ModelName = `V1${string}` | `CoreV1${string}`;

/** Raw JSON from the API server → the typed object (timestamps become Dates). */
export function fromWire<T>(raw: unknown, model: ModelName): T {
  return ObjectSerializer.deserialize(raw, model) as T;
}

/** A typed object → the JSON the API server takes (Dates become RFC 3339 strings). */
export function toWire(object: unknown, model: ModelName): unknown {
  return ObjectSerializer.serialize(object, model);
}
