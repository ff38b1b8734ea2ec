/**
 * The TTL-after-finished controller: deletes a finished Job once
 * ttlSecondsAfterFinished has passed since it finished, with Foreground
 * propagation (its pods go first), as the real controller does.
 */
import type { Registry } from '../api-server/registry.js';
import { JOB } from '../api-server/resources.js';
import { isRecord, type KubeObject } from '../api-server/types.js';
import type { ApiError } from '../api-server/errors.js';
import { KeyQueue } from './key-queue.js';

/** When the Job finished (Complete or Failed condition), or undefined while it runs. */
export function finishedAt(job: KubeObject): number | undefined {
  const status = isRecord(job.status) ? job.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const done = conditions.find((c) => isRecord(c) && (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (!isRecord(done)) return undefined;
  return Date.parse(String(done.lastTransitionTime));
}

export function ttlDeadline(job: KubeObject): number | undefined {
  const ttl = isRecord(job.spec) ? job.spec.ttlSecondsAfterFinished : undefined;
  const finished = finishedAt(job);
  if (typeof ttl !== 'number' || finished === undefined) return undefined;
  return finished + ttl * 1000;
}

export class TtlAfterFinishedController {
  private readonly queue: KeyQueue;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly registry: Registry) {
    this.queue = new KeyQueue((key) => this.reconcile(key));
  }

  start(): void {
    this.unsubscribe = this.registry.store.subscribe((event) => {
      if (event.resource === JOB && event.type !== 'DELETED') this.queue.add(`${event.object.metadata.namespace}/${event.object.metadata.name}`);
    });
    for (const job of this.registry.store.list(JOB)) this.queue.add(`${job.metadata.namespace}/${job.metadata.name}`);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutdown();
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const job = this.registry.store.get(JOB, namespace, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const deadline = ttlDeadline(job);
    if (deadline === undefined) return;
    const wait = deadline - Date.now();
    if (wait > 0) {
      this.queue.addAfter(key, wait);
      return;
    }
    await this.registry
      .delete(JOB, namespace, name, { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid } }, { user: 'system:serviceaccount:kube-system:ttl-after-finished-controller' })
      .catch((error: ApiError) => {
        if (error.code !== 404 && error.code !== 409) throw error;
      });
  }
}
