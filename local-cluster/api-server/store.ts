/**
 * The versioned object store: etcd's role. Every write gets the next global
 * resourceVersion and is kept in a bounded history, so watches can resume
 * from a version and get 410 Gone once it has been compacted away.
 */
import { clone, type KubeObject } from './types.js';
import { resourceKey, type ResourceType } from './resources.js';

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  resource: ResourceType;
  object: KubeObject;
  /** The object before a MODIFIED event (watches with selectors need it). */
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

  constructor(private readonly historyLimit = 50_000) {}

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
    bucket.delete(key);
    const deleted = clone(existing);
    deleted.metadata.resourceVersion = String(++this.revision);
    this.record({ type: 'DELETED', resource: type, object: deleted, resourceVersion: this.revision });
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
