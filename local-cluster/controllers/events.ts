/** Records core/v1 Events about objects, as the controllers and the kubelet of a real cluster do. */
import { randomBytes } from 'node:crypto';
import type { Registry } from '../api-server/registry.js';
import { EVENT } from '../api-server/resources.js';
import { rfc3339 } from '../api-server/strategies.js';
import type { KubeObject } from '../api-server/types.js';

export class EventRecorder {
  constructor(private readonly registry: Registry) {}

  record(about: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const now = rfc3339();
    const namespace = about.metadata.namespace ?? 'default';
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${about.metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: about.apiVersion,
        kind: about.kind,
        name: about.metadata.name,
        namespace: about.metadata.namespace,
        uid: about.metadata.uid,
        resourceVersion: about.metadata.resourceVersion,
      },
      reason,
      message,
      source: { component, host: 'local' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: 'local',
    };
    // Events are best effort, as in client-go's recorder: a failure is not the caller's failure.
    void this.registry.create(EVENT, namespace, event, { user: `system:${component}` }).catch(() => undefined);
  }
}
