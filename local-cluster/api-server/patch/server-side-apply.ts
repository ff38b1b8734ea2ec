/**
 * Server-side apply (`application/apply-patch+yaml`): field ownership per
 * manager in `metadata.managedFields` (fieldsV1), the applied configuration
 * merged into the live object, fields the manager applied before and no longer
 * applies removed (unless another manager owns them), and a 409 Conflict when
 * the configuration changes a value another applier owns — unless forced,
 * which moves ownership. Maps are merged key by key; lists are owned whole
 * (atomic), a simplification of structured-merge-diff's associative lists
 * (see README deviations).
 */
import { isRecord, type KubeObject } from '../types.js';

type Json = Record<string, unknown>;
type Path = string[];

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Json;
  subresource?: string;
}

export interface Conflict {
  manager: string;
  /** `.data.mode`, as the real server prints it. */
  field: string;
}

export type ApplyResult = { object: KubeObject } | { conflicts: Conflict[] };

/** Identity fields every configuration carries; nobody owns them. */
const UNOWNED = new Set(['apiVersion', 'kind', 'metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.resourceVersion', 'metadata.managedFields', 'metadata.creationTimestamp', 'status']);

const key = (path: Path): string => path.join('\u0000');

/** Leaf paths of a configuration: map entries recursively, anything else (scalars, lists, empty maps) as a leaf. */
export function leafPaths(value: unknown, prefix: Path = []): Path[] {
  if (!isRecord(value) || (Object.keys(value).length === 0 && prefix.length > 0)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => {
    const path = [...prefix, k];
    return UNOWNED.has(path.join('.')) ? [] : leafPaths(v, path);
  });
}

export function toFieldsV1(paths: Path[]): Json {
  const root: Json = {};
  for (const path of paths) {
    let node = root;
    for (const part of path) node = (node[`f:${part}`] ??= {}) as Json;
  }
  return root;
}

/** Leaf paths of a fieldsV1 set (`k:`/`v:` list items count as their list). */
export function fromFieldsV1(fields: unknown, prefix: Path = []): Path[] {
  if (!isRecord(fields)) return [];
  const children = Object.entries(fields).filter(([k]) => k.startsWith('f:'));
  if (children.length === 0) return prefix.length ? [prefix] : [];
  if (Object.keys(fields).some((k) => k.startsWith('k:') || k.startsWith('v:') || k === '.')) return [prefix];
  return children.flatMap(([k, v]) => fromFieldsV1(v, [...prefix, k.slice(2)]));
}

function get(obj: unknown, path: Path): unknown {
  let node = obj;
  for (const part of path) {
    if (!isRecord(node)) return undefined;
    node = node[part];
  }
  return node;
}

function set(obj: Json, path: Path, value: unknown): void {
  let node = obj;
  for (const part of path.slice(0, -1)) {
    if (!isRecord(node[part])) node[part] = {};
    node = node[part] as Json;
  }
  node[path[path.length - 1]!] = structuredClone(value);
}

function remove(obj: Json, path: Path): void {
  const parent = get(obj, path.slice(0, -1));
  if (isRecord(parent)) delete parent[path[path.length - 1]!];
}

function covers(owned: Path[], path: Path): boolean {
  // Owning a.b covers a.b.c; owning a.b.c conflicts with a change of a.b as a whole too.
  return owned.some((o) => key(path).startsWith(key(o)) || key(o).startsWith(key(path)));
}

/**
 * Applies `config` as `manager` to `live` (undefined: the object is created).
 * Pure: `now` stamps the manager's entry.
 */
export function serverSideApply(live: KubeObject | undefined, config: KubeObject, manager: string, force: boolean, now: string): ApplyResult {
  const entries: ManagedFieldsEntry[] = (live?.metadata.managedFields ?? []).filter(isRecord) as unknown as ManagedFieldsEntry[];
  const mine = entries.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource);
  const others = entries.filter((e) => e !== mine);
  const previous = mine ? fromFieldsV1(mine.fieldsV1) : [];
  const applied = leafPaths(config);

  const conflicts: Conflict[] = [];
  const takenFrom = new Map<ManagedFieldsEntry, Path[]>();
  for (const path of applied) {
    const current = get(live, path);
    if (current === undefined || JSON.stringify(current) === JSON.stringify(get(config, path))) continue;
    for (const other of others) {
      const owned = fromFieldsV1(other.fieldsV1);
      if (!covers(owned, path)) continue;
      if (force) takenFrom.set(other, [...(takenFrom.get(other) ?? []), path]);
      else conflicts.push({ manager: other.manager, field: `.${path.join('.')}` });
    }
  }
  if (conflicts.length) return { conflicts };

  const result = structuredClone(live ?? { apiVersion: config.apiVersion, kind: config.kind, metadata: {} }) as KubeObject;
  const otherOwned = others.flatMap((o) => fromFieldsV1(o.fieldsV1).filter((p) => !(takenFrom.get(o) ?? []).some((t) => key(t) === key(p))));
  for (const path of previous) {
    if (!applied.some((p) => key(p) === key(path)) && !covers(otherOwned, path)) remove(result as Json, path);
  }
  for (const path of applied) set(result as Json, path, get(config, path));
  for (const field of ['name', 'namespace'] as const) if (config.metadata[field] !== undefined) result.metadata[field] = config.metadata[field];

  const kept = others
    .map((o) => {
      const taken = takenFrom.get(o);
      if (!taken) return o;
      const remaining = fromFieldsV1(o.fieldsV1).filter((p) => !taken.some((t) => key(t) === key(p)));
      return { ...o, fieldsV1: toFieldsV1(remaining) };
    })
    .filter((o) => Object.keys(o.fieldsV1).length > 0);
  const entry: ManagedFieldsEntry = { manager, operation: 'Apply', apiVersion: config.apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(applied) };
  result.metadata.managedFields = [...kept, entry];
  return { object: result };
}

/** The 409 message of the real server: `Apply failed with 1 conflict: conflict with "kubectl": .data.mode`. */
export function conflictMessage(conflicts: Conflict[]): string {
  const lines = conflicts.map((c) => `conflict with "${c.manager}": ${c.field}`);
  const count = `${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}`;
  return conflicts.length === 1 ? `Apply failed with ${count}: ${lines[0]}` : `Apply failed with ${count}: ${lines.join('\n')}`;
}
