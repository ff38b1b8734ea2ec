/**
 * Strategic merge patch as kube-apiserver applies `application/strategic-merge-patch+json`
 * (k8s.io/apimachinery/pkg/util/strategicpatch, server side: parallel lists are applied and
 * unmatched nulls ignored). Lists tagged in patch-strategies.ts are merged by key, other lists are
 * replaced, maps are merged; `$patch`, `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>` are honoured, and a null deletes a member.
 *
 * Deliberate differences from the Go code, all in corners no client relies on:
 * - what the patch introduces where there is nothing to merge with (a new member, a new list
 *   item, a `$patch: replace` body) is itself merged into an empty value, so nulls and
 *   directives inside it never reach the stored object (Go's typed decoding hides them too);
 * - failures Go reports as plain errors (HTTP 500) are 422 here.
 */
import { isJsonObject, setMember, type JsonObject } from './merge-patch.js';
import { PatchError, undecodablePatch } from './patch-error.js';
import { fieldPatchMeta, patchSchemaFor, type FieldPatchMeta, type PatchSchema } from './patch-strategies.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

// ---- errors, worded like the Go code's ----

/** fmt's %v of a decoded JSON value: maps with sorted keys, list items space-separated. */
function goValue(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  if (isJsonObject(value)) {
    return `map[${Object.keys(value)
      .sort()
      .map((key) => `${key}:${goValue(value[key])}`)
      .join(' ')}]`;
  }
  return String(value);
}

function goType(value: unknown): string {
  if (value === null) return '<nil>';
  if (Array.isArray(value)) return '[]interface {}';
  if (isJsonObject(value)) return 'map[string]interface {}';
  return typeof value === 'number' ? 'float64' : typeof value === 'boolean' ? 'bool' : 'string';
}

const badFormat = (what: string): PatchError => new PatchError(`invalid patch format of ${what}`, 400);
const unprocessable = (message: string): PatchError => new PatchError(message, 422);
const badArgType = (expected: string, value: unknown): PatchError =>
  unprocessable(`expected a ${expected}, but received a ${goType(value)}`);
const unknownPatchType = (map: JsonObject): PatchError =>
  unprocessable(`unknown patch type: ${goValue(map[DIRECTIVE])} in map: ${goValue(map)}`);

// ---- list items ----

/** The merge-key value of a patch item, which must have one. */
function mergeKeyOf(item: unknown, mergeKey: string): unknown {
  if (!isJsonObject(item)) throw badArgType('map[string]interface {}', item);
  if (!Object.hasOwn(item, mergeKey)) {
    throw unprocessable(`map: ${goValue(item)} does not contain declared merge key: ${mergeKey}`);
  }
  return item[mergeKey];
}

/** What identifies a list item: its merge-key value for objects, the value itself for scalars. */
const identity = (item: unknown, mergeKey: string | undefined): unknown =>
  mergeKey !== undefined && isJsonObject(item) ? item[mergeKey] : item;

function indexIn(list: readonly unknown[], item: unknown, mergeKey: string | undefined): number {
  const id = identity(item, mergeKey);
  return id === undefined ? -1 : list.findIndex((other) => identity(other, mergeKey) === id);
}

/** Checks every item is a scalar, or every item an object (Go cannot merge anything else). */
function elementKind(...lists: unknown[][]): string | undefined {
  let kind: string | undefined;
  for (const item of lists.flat()) {
    if (Array.isArray(item)) throw unprocessable('lists of lists are not supported');
    const itemKind = item === null ? 'null' : typeof item;
    if (kind !== undefined && itemKind !== kind) {
      throw unprocessable(`list element types are not identical: ${goValue(lists)}`);
    }
    kind = itemKind;
  }
  return kind;
}

/**
 * Orders a merged list the way the Go code does: items named in `order` (the patch list, or a
 * $setElementOrder list) follow that order, the others keep their live order, and the two runs
 * are interleaved by live position — an item the live list lacks is emitted as soon as it is
 * reached, which is why a new item lands before the remaining live-only items.
 */
function orderItems(merged: unknown[], order: unknown[], live: unknown[], mergeKey: string | undefined): unknown[] {
  const position = (list: unknown[]) => (a: unknown, b: unknown) =>
    indexIn(list, a, mergeKey) - indexIn(list, b, mergeKey);
  const listed = merged.filter((item) => indexIn(order, item, mergeKey) >= 0).sort(position(order));
  const liveOnly = merged.filter((item) => indexIn(order, item, mergeKey) < 0).sort(position(live));
  const result: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < liveOnly.length || j < listed.length) {
    if (j === listed.length) {
      result.push(liveOnly[i++]);
    } else if (i === liveOnly.length) {
      result.push(listed[j++]);
    } else {
      const li = indexIn(live, liveOnly[i], mergeKey);
      const lj = indexIn(live, listed[j], mergeKey);
      result.push(li >= 0 && lj >= 0 && li < lj ? liveOnly[i++] : listed[j++]);
    }
  }
  return result;
}

/** The non-directive patch items must appear in $setElementOrder, in the same relative order. */
function checkElementOrder(patchList: unknown[], order: unknown[], mergeKey: string | undefined): void {
  if (mergeKey !== undefined) order.forEach((item) => mergeKeyOf(item, mergeKey));
  if (order.length === 0) return;
  let next = 0;
  for (const item of patchList) {
    if (isJsonObject(item) && Object.hasOwn(item, DIRECTIVE)) continue;
    const id = mergeKey === undefined ? item : mergeKeyOf(item, mergeKey);
    while (next < order.length && identity(order[next], mergeKey) !== id) next++;
    if (next === order.length) {
      throw unprocessable(
        `The order in patch list:\n${goValue(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goValue(order)}\n`,
      );
    }
    next++;
  }
}

/** A list tagged `patchStrategy:"merge"`: scalars are unioned, objects merged by merge key. */
function mergeList(live: unknown[], patchList: unknown[], meta: FieldPatchMeta): unknown[] {
  if (live.length === 0 && patchList.length === 0) return live;
  if (elementKind(live, patchList) !== 'object') {
    return orderItems([...new Set([...live, ...patchList])], patchList, live, undefined);
  }
  const mergeKey = meta.mergeKey;
  // The only key-less merge lists of the served kinds (finalizers) hold strings: Go's wording.
  if (mergeKey === undefined) throw unprocessable('cannot merge lists without merge key for type string');

  let remaining = live;
  const additions: JsonObject[] = [];
  let replace = false;
  for (const item of patchList as JsonObject[]) {
    if (!Object.hasOwn(item, DIRECTIVE)) {
      additions.push(item);
      continue;
    }
    switch (item[DIRECTIVE]) {
      case 'delete': {
        const id = mergeKeyOf(item, mergeKey);
        remaining = remaining.filter((other) => identity(other, mergeKey) !== id);
        break;
      }
      case 'replace':
        replace = true;
        break;
      case 'merge':
        throw unprocessable('merging lists cannot yet be specified in the patch');
      default:
        throw unknownPatchType(item);
    }
  }
  if (replace) return additions.map((item) => mergeMap({}, item, meta.fields));

  const merged = [...remaining];
  for (const item of additions) {
    const id = mergeKeyOf(item, mergeKey);
    const at = merged.findIndex((other) => identity(other, mergeKey) === id);
    if (at >= 0) merged[at] = mergeMap(merged[at] as JsonObject, item, meta.fields);
    else merged.push(mergeMap({}, item, meta.fields));
  }
  return orderItems(merged, additions, remaining, mergeKey);
}

// ---- values ----

/** A list the patch brings where there is no live list to merge with (or the field is atomic). */
function introduceList(list: unknown[], meta: FieldPatchMeta | undefined): unknown[] {
  if (meta?.merge) return mergeList([], list, meta);
  return list.map((item) => (isJsonObject(item) ? mergeMap({}, item, meta?.fields) : item));
}

function mergeValue(live: unknown, value: unknown, meta: FieldPatchMeta | undefined): unknown {
  if (isJsonObject(value)) return mergeMap(isJsonObject(live) ? live : {}, value, meta?.fields);
  if (!Array.isArray(value)) return value;
  return Array.isArray(live) && meta?.merge ? mergeList(live, value, meta) : introduceList(value, meta);
}

/** The field a `$prefix/<field>` directive applies to; Go rejects any other spelling. */
function directiveTarget(key: string, prefix: string, what: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) throw badFormat(what);
  return key.slice(slash + 1);
}

/** `$retainKeys`: live members not listed are cleared; the patch may only set listed ones. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw badFormat('retainKeys');
  const kept = new Set<unknown>(retain);
  for (const [key, value] of Object.entries(patch)) {
    const isDirective = key.startsWith(DELETE_FROM_PRIMITIVE_LIST) || key.startsWith(SET_ELEMENT_ORDER);
    if (value !== null && !isDirective && !kept.has(key)) throw badFormat('retainKeys');
  }
  for (const key of Object.keys(original)) if (!kept.has(key)) delete original[key];
}

/**
 * `$setElementOrder/<list>` (sent by kubectl apply): merges the patch's list, if any, then puts the
 * items it names in its order. The list is taken out of the patch so it is not merged twice.
 */
function applyElementOrders(original: JsonObject, patch: JsonObject, schema: PatchSchema | undefined): void {
  for (const directive of Object.keys(patch)) {
    if (!directive.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[directive];
    delete patch[directive];
    if (!Array.isArray(order)) throw badArgType('[]interface {}', order);
    const key = directiveTarget(directive, SET_ELEMENT_ORDER, 'setElementOrder list');
    const meta = fieldPatchMeta(schema, key);
    const live = Object.hasOwn(original, key) ? original[key] : undefined;
    const patchList = Object.hasOwn(patch, key) ? patch[key] : undefined;
    if (live !== undefined && !Array.isArray(live)) throw badArgType('[]interface {}', live);
    if (patchList !== undefined && !Array.isArray(patchList)) throw badArgType('[]interface {}', patchList);
    checkElementOrder(patchList ?? [], order, meta?.mergeKey);
    if (live === undefined && patchList === undefined) continue;
    delete patch[key];
    let merged = live ?? [];
    if (patchList) merged = meta?.merge ? mergeList(merged, patchList, meta) : introduceList(patchList, meta);
    setMember(original, key, orderItems(merged, order, live ?? [], meta?.mergeKey));
  }
}

/** `$deleteFromPrimitiveList/<list>`: drops those scalars from the live list, if there is one. */
function deleteFromList(original: JsonObject, key: string, values: unknown): void {
  const live = Object.hasOwn(original, key) ? original[key] : undefined;
  if (!Array.isArray(live) || !Array.isArray(values)) return;
  setMember(original, key, live.filter((item) => !values.includes(item)));
}

/** Merges `patch` into `original`; both are this module's own copies and are consumed. */
function mergeMap(original: JsonObject, patch: JsonObject, schema: PatchSchema | undefined): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const directive = patch[DIRECTIVE];
    if (directive === 'delete') return {};
    if (directive !== 'replace') throw unknownPatchType(patch);
    delete patch[DIRECTIVE];
    return mergeMap({}, patch, schema);
  }
  applyRetainKeys(original, patch);
  applyElementOrders(original, patch, schema);
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      deleteFromList(original, directiveTarget(key, DELETE_FROM_PRIMITIVE_LIST, 'primitive list'), value);
    } else if (value === null) {
      delete original[key];
    } else {
      const live = Object.hasOwn(original, key) ? original[key] : undefined;
      setMember(original, key, mergeValue(live, value, fieldPatchMeta(schema, key)));
    }
  }
  return original;
}

/**
 * Applies a strategic merge patch for an object of `kind` to a copy of `doc`; neither argument
 * is modified. Kinds without tagged fields merge like JSON merge patch, directives included.
 * Throws PatchError.
 */
export function applyStrategicMergePatch(doc: unknown, patch: unknown, kind: string): unknown {
  // Go decodes a `null` body into an empty patch.
  if (patch === null) return structuredClone(doc);
  if (!isJsonObject(patch)) throw undecodablePatch(patch, 'map[string]interface {}');
  const original = isJsonObject(doc) ? structuredClone(doc) : {};
  return mergeMap(original, structuredClone(patch), patchSchemaFor(kind));
}
