/**
 * Records core/v1 Events about objects, as the controllers and the kubelet of
 * a real cluster do with client-go's recorder: an event identical to one
 * already recorded (same source, object, type, reason and message) is not a
 * new object but the old one with `count` + 1 and a new `lastTimestamp`
 * (the recorder's correlator). Named `<object>.<unix nanoseconds in hex>`.
 * Bound: the correlator remembers the last 4096 distinct events (its LRU
 * size), dropping the least recently seen.
 */
import type { Registry } from '../api-server/registry.js';
import { EVENT } from '../api-server/resources.js';
import { rfc3339 } from '../api-server/strategies.js';
import type { KubeObject } from '../api-server/types.js';

const CORRELATOR_ENTRIES = 4096;

interface Seen {
  namespace: string;
  name: string;
  count: number;
  /** Writes of one event run in order (a create, then its count patches). */
  chain: Promise<unknown>;
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly registry: Registry) {}

  /** `host`: the node, for the kubelet's events (controllers' events name none). */
  record(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string, host?: string): void {
    const now = rfc3339();
    const namespace = about.metadata.namespace ?? 'default';
    const involvedObject = {
      apiVersion: about.apiVersion,
      kind: about.kind,
      name: about.metadata.name,
      namespace: about.metadata.namespace,
      uid: about.metadata.uid,
      resourceVersion: about.metadata.resourceVersion,
    };
    const key = JSON.stringify([component, involvedObject.kind, involvedObject.namespace, involvedObject.name, involvedObject.uid, type, reason, message]);
    const context = { user: `system:${component}` };
    const known = this.seen.get(key);
    if (known) {
      // Most recently seen goes last: the first entry is the one to drop.
      this.seen.delete(key);
      this.seen.set(key, known);
      known.count++;
      const count = known.count;
      known.chain = known.chain.then(() => this.registry.patch(EVENT, known.namespace, known.name, 'merge', { count, lastTimestamp: now }, context)).catch(() => undefined);
      return;
    }
    const nanos = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    const name = `${about.metadata.name ?? 'object'}.${nanos.toString(16)}`;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      source: { component, ...(host ? { host } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: host ?? '',
    };
    this.seen.set(key, { namespace, name, count: 1, chain: Promise.resolve() });
    if (this.seen.size > CORRELATOR_ENTRIES) this.seen.delete(this.seen.keys().next().value!);
    // Events are best effort, as in client-go's recorder: a failure is not the caller's failure.
    this.seen.get(key)!.chain = this.registry.create(EVENT, namespace, event, context).catch(() => undefined);
  }
}
