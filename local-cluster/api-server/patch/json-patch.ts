/**
 * JSON Patch (RFC 6902) with kube-apiserver's error behaviour: a body that is not an array of
 * operation objects is a 400 (it fails to decode), an operation that cannot be applied is a 422
 * with a message in the words of gopkg.in/evanphx/json-patch.v4, which the apiserver uses.
 */
import jsonpatch, { type Operation } from 'fast-json-patch';
import { isJsonObject, type JsonObject } from './merge-patch.js';
import { PatchError, undecodablePatch } from './patch-error.js';

const OPERATIONS: ReadonlySet<string> = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

function decodeOperations(patch: unknown): JsonObject[] {
  // Go decodes a `null` body into an empty patch.
  if (patch === null) return [];
  if (!Array.isArray(patch)) throw undecodablePatch(patch, 'jsonpatch.Patch');
  return patch.map((op: unknown) => {
    // A null element decodes to an empty operation, which then fails as "Unexpected kind".
    if (op === null) return {};
    if (!isJsonObject(op)) throw undecodablePatch(op, 'jsonpatch.Operation');
    return structuredClone(op);
  });
}

/**
 * json-patch v4 lets "replace" create a missing member of an existing object (its object
 * lookup never fails), so the apiserver accepts that; fast-json-patch would refuse it.
 */
function asApplied(doc: unknown, op: JsonObject): JsonObject {
  if (op.op !== 'replace' || typeof op.path !== 'string') return op;
  const slash = op.path.lastIndexOf('/');
  if (slash < 0) return op;
  let parent: unknown;
  try {
    parent = jsonpatch.getValueByPointer(doc, op.path.slice(0, slash));
  } catch {
    return op;
  }
  const key = jsonpatch.unescapePathComponent(op.path.slice(slash + 1));
  return isJsonObject(parent) && !Object.hasOwn(parent, key) ? { ...op, op: 'add' } : op;
}

const lastSegment = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

function failureMessage(op: JsonObject, kind: string, error: Error): string {
  const path = String(op.path);
  switch (error.name) {
    case 'TEST_OPERATION_FAILED':
      return `testing value ${path} failed: test failed`;
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_PATH_CANNOT_ADD':
      return `${kind} operation does not apply: doc is missing path: "${path}": missing value`;
    case 'OPERATION_FROM_UNRESOLVABLE':
      return `${kind} operation does not apply: doc is missing from path: ${String(op.from)}: missing value`;
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
      return `error in ${kind} for path: '${path}': Unable to access invalid index: ${lastSegment(path)}: invalid index referenced`;
    default:
      // Structural problems (bad path, missing value/from): fast-json-patch's own first line.
      return `${kind} operation failed: ${error.message.split('\n')[0]}`;
  }
}

function applyOperation(doc: unknown, op: JsonObject): unknown {
  const kind = typeof op.op === 'string' ? op.op : 'unknown';
  if (!OPERATIONS.has(kind)) throw new PatchError(`Unexpected kind: ${kind}`, 422);
  try {
    // fast-json-patch validates the operation's shape itself (validateOperation = true).
    return jsonpatch.applyOperation(doc, asApplied(doc, op) as unknown as Operation, true, true, true).newDocument;
  } catch (error) {
    if (error instanceof Error) throw new PatchError(failureMessage(op, kind, error), 422);
    throw error;
  }
}

/** Applies `patch` to a copy of `doc`; neither argument is modified. Throws PatchError. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  let result = structuredClone(doc);
  for (const op of decodeOperations(patch)) result = applyOperation(result, op);
  return result;
}
