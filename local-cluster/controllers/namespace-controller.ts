/**
 * The namespace controller: a namespace being deleted (`Terminating`, held by
 * its `kubernetes` spec finalizer) has all its contents deleted, reports what
 * remains in its status conditions as the real controller does, and once
 * nothing is left its finalizer goes and the namespace with it. Contents
 * that take time (pods' grace periods, finalizers) bring it back on their
 * DELETED and MODIFIED events.
 */
import type { Registry } from '../api-server/registry.js';
import { NAMESPACE, RESOURCE_TYPES, resourceKey, type ResourceType } from '../api-server/resources.js';
import type { KubeObject } from '../api-server/types.js';
import { isRecord } from '../api-server/types.js';
import { rfc3339 } from '../api-server/strategies.js';
import { KeyQueue } from './key-queue.js';

const CONTEXT = { user: 'system:serviceaccount:kube-system:namespace-controller' };
const SPEC_FINALIZER = 'kubernetes';

/** The kinds a namespace holds (the review kinds are never stored). */
const CONTENT: readonly ResourceType[] = RESOURCE_TYPES.filter((r) => r.namespaced && !r.createOnly);

function terminating(namespace: KubeObject | undefined): boolean {
  return namespace?.metadata.deletionTimestamp !== undefined && isRecord(namespace.spec) && Array.isArray(namespace.spec.finalizers) && namespace.spec.finalizers.includes(SPEC_FINALIZER);
}

interface Remaining {
  counts: Map<string, number>;
  finalizers: Map<string, number>;
}

/** The deletion conditions of a terminating namespace, as the real controller words them. Pure. */
export function deletionConditions(remaining: Remaining, now: string): Array<Record<string, string>> {
  const condition = (type: string, status: boolean, reason: string, message: string) => ({ type, status: status ? 'True' : 'False', lastTransitionTime: now, reason, message });
  const counts = [...remaining.counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([resource, n]) => `${resource} has ${n} resource instances`);
  const finalizers = [...remaining.finalizers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([finalizer, n]) => `${finalizer} in ${n} resource instances`);
  return [
    condition('NamespaceDeletionDiscoveryFailure', false, 'ResourcesDiscovered', 'All resources successfully discovered'),
    condition('NamespaceDeletionGroupVersionParsingFailure', false, 'ParsedGroupVersions', 'All legacy kube types successfully parsed'),
    condition('NamespaceDeletionContentFailure', false, 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'),
    counts.length
      ? condition('NamespaceContentRemaining', true, 'SomeResourcesRemain', `Some resources are remaining: ${counts.join(', ')}`)
      : condition('NamespaceContentRemaining', false, 'ContentRemoved', 'All content successfully removed'),
    finalizers.length
      ? condition('NamespaceFinalizersRemaining', true, 'SomeFinalizersRemain', `Some content in the namespace has finalizers remaining: ${finalizers.join(', ')}`)
      : condition('NamespaceFinalizersRemaining', false, 'ContentHasNoFinalizers', 'All content-preserving finalizers finished'),
  ];
}

export class NamespaceController {
  private readonly queue = new KeyQueue((name) => this.sync(name));
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly registry: Registry) {}

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((event) => {
      if (event.resource === NAMESPACE) {
        if (event.type !== 'DELETED' && terminating(event.object)) this.queue.add(event.object.metadata.name ?? '');
        return;
      }
      const namespace = event.object.metadata.namespace;
      if (namespace && event.resource.namespaced && terminating(this.registry.store.get(NAMESPACE, undefined, namespace))) this.queue.add(namespace);
    });
    for (const namespace of this.registry.store.list(NAMESPACE)) if (terminating(namespace)) this.queue.add(namespace.metadata.name ?? '');
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutdown();
  }

  private async sync(name: string): Promise<void> {
    const namespace = this.registry.store.get(NAMESPACE, undefined, name);
    if (!terminating(namespace)) return;
    const remaining: Remaining = { counts: new Map(), finalizers: new Map() };
    for (const type of CONTENT) {
      const items = this.registry.store.list(type, name);
      for (const item of items) {
        if (!item.metadata.deletionTimestamp) {
          await this.registry
            .delete(type, name, item.metadata.name ?? '', { propagationPolicy: 'Background', preconditions: { uid: item.metadata.uid } }, CONTEXT)
            .catch(() => undefined); // gone or replaced meanwhile: the next event brings us back
        }
      }
      const left = this.registry.store.list(type, name);
      if (left.length) remaining.counts.set(`${resourceKey(type).replace(/^([^.]+)$/, '$1.')}`, left.length);
      for (const item of left) for (const f of item.metadata.finalizers ?? []) remaining.finalizers.set(f, (remaining.finalizers.get(f) ?? 0) + 1);
    }
    if (remaining.counts.size === 0) {
      // Empty: the controller's finalizer goes, and with it the namespace.
      await this.registry.patch(NAMESPACE, undefined, name, 'merge', { spec: { finalizers: [] } }, CONTEXT).catch(() => undefined);
      return;
    }
    const conditions = deletionConditions(remaining, rfc3339());
    const current = isRecord(namespace!.status) && Array.isArray(namespace!.status.conditions) ? namespace!.status.conditions : [];
    const same = JSON.stringify(current.map((c: Record<string, unknown>) => [c.type, c.status, c.message])) === JSON.stringify(conditions.map((c) => [c.type, c.status, c.message]));
    if (!same) await this.registry.patch(NAMESPACE, undefined, name, 'merge', { status: { conditions } }, CONTEXT, 'status').catch(() => undefined);
  }
}
