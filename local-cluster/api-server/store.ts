/**
 * The versioned object store: etcd's role. Every write gets the next global
 * resourceVersion and is kept in a bounded history, so watches can resume
 * from a version and get 410 Gone once it has been compacted away.
 */
import { clone, type KubeObject } from './types.js';
import { RESOURCE_TYPES, resourceKey, type ResourceType } from './resources.js';
import type { Journal, JournalRecord, Recovered } from './journal.js';

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  resource: ResourceType;
  object: KubeObject;
  /**
   * The object before a MODIFIED or DELETED event (watches with selectors
   * need it; paging rebuilds earlier states from it).
   */
  previous?: KubeObject;
  resourceVersion: number;
}

/** Listeners share one copy of each event's object: they must not change it. */
export type StoreListener = (event: StoreEvent) => void;

function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class ObjectStore {
  private revision = 0;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  /** Events at or below this revision are no longer available to watches. */
  private compactedRevision = 0;
  private readonly listeners = new Set<StoreListener>();
  private journal: Journal | undefined;

  constructor(private readonly historyLimit = 50_000) {}

  /**
   * Makes the store durable: loads what `journal` recovered (objects, the
   * revision, and the log's records as watch history) and writes every later
   * change to it before acknowledging. Only on an empty store.
   */
  restore(journal: Journal, recovered: Recovered): void {
    if (this.revision !== 0) throw new Error('restore needs an empty store');
    const types = new Map(RESOURCE_TYPES.map((r) => [resourceKey(r), r]));
    for (const { resource, object } of recovered.snapshot.objects) {
      const type = types.get(resource);
      if (type) this.bucket(type).set(objectKey(object.metadata.namespace, object.metadata.name ?? ''), object);
    }
    this.revision = recovered.snapshot.revision;
    this.compactedRevision = recovered.snapshot.revision;
    for (const record of recovered.records) {
      const type = types.get(record.resource);
      this.revision = record.rv;
      if (!type) continue;
      const bucket = this.bucket(type);
      const key = objectKey(record.object.metadata.namespace, record.object.metadata.name ?? '');
      const previous = bucket.get(key);
      if (record.op === 'delete') bucket.delete(key);
      else bucket.set(key, record.object);
      const eventType: StoreEventType = record.op === 'delete' ? 'DELETED' : previous ? 'MODIFIED' : 'ADDED';
      this.record({ type: eventType, resource: type, object: record.object, ...(previous ? { previous } : {}), resourceVersion: record.rv });
    }
    this.journal = journal;
  }

  /** Stops writing to the journal (the store stays usable in memory). */
  closeJournal(): void {
    this.journal?.close();
    this.journal = undefined;
  }

  get currentRevision(): number {
    return this.revision;
  }

  get oldestWatchableRevision(): number {
    return this.compactedRevision;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.bucket(type).get(objectKey(namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Objects of a type, in key order (namespace/name) as etcd returns them. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    return this.listStored(type, namespace).map(clone);
  }

  /**
   * The stored objects themselves, in key order, not copied: for a reader
   * that copies only what it hands out (a paged list copies one page, not
   * the whole collection for every page). Callers must not change them.
   */
  listStored(type: ResourceType, namespace?: string): readonly KubeObject[] {
    const items: Array<[string, KubeObject]> = [];
    for (const [key, obj] of this.bucket(type)) {
      if (namespace === undefined || obj.metadata.namespace === namespace) items.push([key, obj]);
    }
    items.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return items.map(([, obj]) => obj);
  }

  /**
   * Objects of a type as they were at `revision` (in key order), rebuilt by
   * undoing the history after it; 'expired' once that history was compacted.
   * What a list continued from an earlier page reads, as etcd reads a
   * paginated list at the first page's revision. Like `listStored`, the
   * objects are the stored ones, not copies (every page of a 10 000-object
   * list copied the whole collection, 16 s of a cold start): callers copy
   * what they hand out and must not change them.
   */
  listAt(type: ResourceType, namespace: string | undefined, revision: number): readonly KubeObject[] | 'expired' {
    if (revision < this.compactedRevision) return 'expired';
    const wanted = resourceKey(type);
    const state = new Map<string, KubeObject>();
    for (const [key, obj] of this.bucket(type)) if (namespace === undefined || obj.metadata.namespace === namespace) state.set(key, obj);
    for (let i = this.history.length - 1; i >= 0; i--) {
      const event = this.history[i]!;
      if (event.resourceVersion <= revision) break;
      if (resourceKey(event.resource) !== wanted) continue;
      if (namespace !== undefined && event.object.metadata.namespace !== namespace) continue;
      const key = objectKey(event.object.metadata.namespace, event.object.metadata.name ?? '');
      if (event.type === 'ADDED') state.delete(key);
      else if (event.previous) state.set(key, event.previous);
    }
    return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, obj]) => obj);
  }

  count(type: ResourceType): number {
    return this.bucket(type).size;
  }

  /** Stores the object (a copy) with the next resourceVersion and returns the stored copy. */
  put(type: ResourceType, object: KubeObject): KubeObject {
    const bucket = this.bucket(type);
    const key = objectKey(object.metadata.namespace, object.metadata.name ?? '');
    const previous = bucket.get(key);
    const eventType: StoreEventType = previous ? 'MODIFIED' : 'ADDED';
    const stored = clone(object);
    stored.metadata.resourceVersion = String(++this.revision);
    this.persist({ rv: this.revision, op: 'put', resource: resourceKey(type), object: stored });
    bucket.set(key, stored);
    this.record({ type: eventType, resource: type, object: clone(stored), ...(previous ? { previous } : {}), resourceVersion: this.revision });
    return clone(stored);
  }

  /** Removes the object; the DELETED event carries the deletion's own resourceVersion. */
  remove(type: ResourceType, object: KubeObject): KubeObject | undefined {
    const bucket = this.bucket(type);
    const key = objectKey(object.metadata.namespace, object.metadata.name ?? '');
    const existing = bucket.get(key);
    if (!existing) return undefined;
    const deleted = clone(existing);
    deleted.metadata.resourceVersion = String(++this.revision);
    this.persist({ rv: this.revision, op: 'delete', resource: resourceKey(type), object: deleted });
    bucket.delete(key);
    this.record({ type: 'DELETED', resource: type, object: deleted, previous: existing, resourceVersion: this.revision });
    return clone(deleted);
  }

  /**
   * Events of a type after `revision`, or 'expired' when that revision was
   * compacted (the watch must answer 410 Gone).
   */
  eventsSince(type: ResourceType, revision: number): StoreEvent[] | 'expired' {
    if (revision < this.compactedRevision) return 'expired';
    const wanted = resourceKey(type);
    return this.history.filter((e) => e.resourceVersion > revision && resourceKey(e.resource) === wanted);
  }

  /** Forgets all history up to now, as an etcd compaction does (fault injection uses this). */
  compact(): void {
    this.compactedRevision = this.revision;
    this.history.length = 0;
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Write-ahead: the change is on disk before it is applied and announced. A
   * failed write (disk full) throws before anything changed, as etcd refuses
   * the request; the revision it took is skipped, which clients tolerate.
   */
  private persist(record: JournalRecord): void {
    if (!this.journal) return;
    this.journal.append(record);
    if (this.journal.wantsSnapshot) this.journal.writeSnapshot(this.snapshot(record));
  }

  /** The objects as they are once `pending` (not yet applied) is. */
  private snapshot(pending: JournalRecord): { revision: number; objects: Array<{ resource: string; object: KubeObject }> } {
    const objects: Array<{ resource: string; object: KubeObject }> = [];
    const pendingKey = objectKey(pending.object.metadata.namespace, pending.object.metadata.name ?? '');
    for (const [resource, bucket] of this.objects) {
      for (const [key, object] of bucket) if (!(resource === pending.resource && key === pendingKey)) objects.push({ resource, object });
    }
    if (pending.op === 'put') objects.push({ resource: pending.resource, object: pending.object });
    return { revision: pending.rv, objects };
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedRevision = dropped[dropped.length - 1]!.resourceVersion;
    }
    for (const listener of this.listeners) listener(event);
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    const key = resourceKey(type);
    let bucket = this.objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(key, bucket);
    }
    return bucket;
  }
}
