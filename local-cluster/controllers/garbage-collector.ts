/**
 * The garbage collector: deletes dependents whose owners are gone
 * (Background), deletes the dependents of owners being deleted in the
 * foreground and releases the owner's `foregroundDeletion` finalizer once no
 * blocking dependent is left (objects held by finalizers still block), and
 * orphans dependents for the `orphan` finalizer.
 */
import type { Registry } from '../api-server/registry.js';
import { RESOURCE_TYPES, type ResourceType } from '../api-server/resources.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from '../api-server/deletion.js';
import type { KubeObject } from '../api-server/types.js';
import type { ApiError } from '../api-server/errors.js';
import { KeyQueue } from './key-queue.js';

const GC_USER = 'system:serviceaccount:kube-system:generic-garbage-collector';

interface ObjectRef {
  type: ResourceType;
  namespace?: string;
  name: string;
  uid: string;
}

function refOf(type: ResourceType, obj: KubeObject): ObjectRef {
  return { type, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '', uid: obj.metadata.uid ?? '' };
}

function ignoreGone(error: unknown): void {
  const code = (error as ApiError).code;
  if (code !== 404 && code !== 409) throw error;
}

export class GarbageCollector {
  /** owner uid → dependents */
  private readonly dependents = new Map<string, Map<string, ObjectRef>>();
  /** uid → the object's ref, for every object with dependents or owners */
  private readonly known = new Map<string, ObjectRef>();
  private readonly queue: KeyQueue;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly registry: Registry) {
    this.queue = new KeyQueue((uid) => this.process(uid), 2);
  }

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((event) => this.observe(event.resource, event.object, event.type === 'DELETED'));
    for (const type of RESOURCE_TYPES) for (const obj of this.registry.store.list(type)) this.observe(type, obj, false);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutdown();
  }

  private observe(type: ResourceType, obj: KubeObject, deleted: boolean): void {
    const ref = refOf(type, obj);
    const owners = obj.metadata.ownerReferences ?? [];
    for (const owner of owners) {
      let deps = this.dependents.get(owner.uid);
      if (!deps) this.dependents.set(owner.uid, (deps = new Map()));
      if (deleted) deps.delete(ref.uid);
      else deps.set(ref.uid, ref);
      // An owner waiting for its dependents may now be free to go; a dependent may have lost its owner.
      this.queue.add(owner.uid);
    }
    if (deleted) {
      this.known.delete(ref.uid);
      if (this.dependents.has(ref.uid)) this.queue.add(ref.uid);
    } else {
      this.known.set(ref.uid, ref);
      if (owners.length) this.queue.add(`dependent:${ref.uid}`);
      const finalizers = obj.metadata.finalizers ?? [];
      if (obj.metadata.deletionTimestamp && (finalizers.includes(FOREGROUND_FINALIZER) || finalizers.includes(ORPHAN_FINALIZER))) {
        this.queue.add(ref.uid);
      }
    }
  }

  private current(ref: ObjectRef): KubeObject | undefined {
    const obj = this.registry.store.get(ref.type, ref.namespace, ref.name);
    return obj && obj.metadata.uid === ref.uid ? obj : undefined;
  }

  private async process(item: string): Promise<void> {
    if (item.startsWith('dependent:')) return this.checkDependent(item.slice('dependent:'.length));
    const uid = item;
    const deps = [...(this.dependents.get(uid)?.values() ?? [])].filter((d) => this.current(d));
    const ownerRef = this.known.get(uid);
    const owner = ownerRef ? this.current(ownerRef) : undefined;
    if (!owner) {
      // The owner is gone: dependents that have no other live owner go too.
      for (const dep of deps) this.queue.add(`dependent:${dep.uid}`);
      if (deps.length === 0) this.dependents.delete(uid);
      return;
    }
    const finalizers = owner.metadata.finalizers ?? [];
    if (!owner.metadata.deletionTimestamp) return;
    if (finalizers.includes(ORPHAN_FINALIZER)) {
      for (const dep of deps) {
        const obj = this.current(dep);
        const refs = (obj?.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        await this.registry
          .patch(dep.type, dep.namespace, dep.name, 'merge', { metadata: { ownerReferences: refs.length ? refs : null } }, { user: GC_USER })
          .catch(ignoreGone);
      }
      await this.removeFinalizer(ownerRef!, ORPHAN_FINALIZER);
      return;
    }
    if (finalizers.includes(FOREGROUND_FINALIZER)) {
      let blocking = 0;
      for (const dep of deps) {
        const obj = this.current(dep);
        if (!obj) continue;
        const blocks = (obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion === true);
        if (blocks) blocking++;
        if (!obj.metadata.deletionTimestamp) {
          await this.registry.delete(dep.type, dep.namespace, dep.name, { propagationPolicy: 'Foreground' }, { user: GC_USER }).catch(ignoreGone);
        }
      }
      if (blocking === 0) await this.removeFinalizer(ownerRef!, FOREGROUND_FINALIZER);
    }
  }

  private async checkDependent(uid: string): Promise<void> {
    const ref = this.known.get(uid);
    const obj = ref ? this.current(ref) : undefined;
    if (!ref || !obj || obj.metadata.deletionTimestamp) return;
    const owners = obj.metadata.ownerReferences ?? [];
    const alive = owners.filter((o) => {
      const ownerRef = this.known.get(o.uid);
      return ownerRef !== undefined && this.current(ownerRef) !== undefined;
    });
    if (owners.length > 0 && alive.length === 0) {
      await this.registry.delete(ref.type, ref.namespace, ref.name, { propagationPolicy: 'Background', preconditions: { uid } }, { user: GC_USER }).catch(ignoreGone);
    }
  }

  private async removeFinalizer(ref: ObjectRef, finalizer: string): Promise<void> {
    await this.registry
      .patch(ref.type, ref.namespace, ref.name, 'strategic', { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [finalizer] } }, { user: GC_USER })
      .catch(ignoreGone);
  }
}

