/** JSON Merge Patch (RFC 7386), as kube-apiserver applies `application/merge-patch+json`. */

export type JsonObject = Record<string, unknown>;

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Sets an own member even for keys like "__proto__", which plain assignment would misread. */
export function setMember(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Merges `patch` into `target`, which must be caller-owned (it is modified and returned). */
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return structuredClone(patch);
  const result: JsonObject = isJsonObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else setMember(result, key, mergeInto(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

/** null deletes a member, objects merge recursively, anything else (arrays too) replaces. */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  return mergeInto(structuredClone(doc), patch);
}
