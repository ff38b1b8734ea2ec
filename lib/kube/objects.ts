/**
 * Kubernetes objects between their wire form (JSON, RFC 3339 strings) and
 * client-node's V1* types (Dates), so objects read through KubeHttp have the
 * types the rest of the code expects.
 *
 * The conversion is client-node's ObjectSerializer's, over the models of
 * lib/kube/models.ts only (that module loads 124 models, the serializer's
 * all ~700): each model attribute is read under its wire name and written
 * under its typed name (and back), Dates are parsed (and written as ISO
 * 8601), fields a model does not list are dropped, and a type the table does
 * not have (IntOrString, a primitive) passes through unchanged.
 * test/lib/kube-objects.test.ts compares the two on full objects.
 */
import { modelNamed, type ModelName } from './models.js';

export type { ModelName } from './models.js';

const PRIMITIVES: ReadonlySet<string> = new Set(['string', 'boolean', 'double', 'integer', 'long', 'float', 'number', 'any']);
const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

function convert(data: unknown, type: string, direction: 'fromWire' | 'toWire'): unknown {
  if (data === undefined || data === null || PRIMITIVES.has(type.toLowerCase())) return data;
  const list = ARRAY.exec(type);
  if (list) return (data as unknown[]).map((item) => convert(item, list[1]!, direction));
  const map = MAP.exec(type);
  if (map) {
    const out: Record<string, unknown> = {};
    for (const key in data as Record<string, unknown>) out[key] = convert((data as Record<string, unknown>)[key], map[1]!, direction);
    return out;
  }
  // No Date of the table has format "date" (the models test checks): every one is a timestamp.
  if (type === 'Date') return direction === 'fromWire' ? new Date(data as string) : data instanceof Date ? data.toISOString() : data;
  const model = modelNamed(type);
  if (!model) return data;
  const source = data as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const attribute of model.attributeTypeMap) {
    if (direction === 'toWire') {
      out[attribute.baseName] = convert(source[attribute.name], attribute.type, direction);
    } else {
      const value = convert(source[attribute.baseName], attribute.type, direction);
      if (value !== undefined) out[attribute.name] = value;
    }
  }
  return out;
}

/** Raw JSON from the API server → the typed object (timestamps become Dates). */
export function fromWire<T>(raw: unknown, model: ModelName): T {
  return convert(raw, model, 'fromWire') as T;
}

/** A typed object → the JSON the API server takes (Dates become RFC 3339 strings). */
export function toWire(object: unknown, model: ModelName): unknown {
  return convert(object, model, 'toWire');
}
