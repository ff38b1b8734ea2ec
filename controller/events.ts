/**
 * Kubernetes Events on the pods the controller holds, so `kubectl describe
 * pod` says why a pod is still there. Best effort, and at most one Event per
 * pod and reason per interval: a retry loop must not flood the API.
 */
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeHttp } from '../lib/kube/http.js';

export const COMPONENT = 'k8s-job-manager-controller';

/** Why the controller reports something about a pod. */
export const EVENT_REASONS = {
  archived: 'LogsArchived',
  archiveFailed: 'LogArchiveFailed',
  notConfigured: 'LogArchiveNotConfigured',
  incomplete: 'LogsIncomplete',
  gaveUp: 'LogArchiveGaveUp',
} as const;

export type EventReason = (typeof EVENT_REASONS)[keyof typeof EVENT_REASONS];

export class PodEvents {
  private readonly lastSent = new Map<string, number>();

  constructor(
    private readonly http: KubeHttp,
    private readonly identity: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  emit(pod: V1Pod, type: 'Normal' | 'Warning', reason: EventReason, message: string): void {
    const uid = pod.metadata?.uid ?? '';
    const key = `${uid}/${reason}`;
    const now = Date.now();
    const last = this.lastSent.get(key);
    if (last !== undefined && now - last < this.intervalMs) return;
    this.lastSent.set(key, now);
    const namespace = pod.metadata?.namespace ?? 'default';
    const time = new Date(now).toISOString();
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${pod.metadata?.name ?? 'pod'}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, namespace, uid, resourceVersion: pod.metadata?.resourceVersion },
      reason,
      message,
      type,
      source: { component: COMPONENT },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      reportingComponent: COMPONENT,
      reportingInstance: this.identity,
    };
    this.http
      .request({ method: 'POST', path: `/api/v1/namespaces/${namespace}/events`, body: event })
      .catch((error: unknown) => this.logger.warn({ err: error, reason, pod: pod.metadata?.name }, 'could not record an Event'));
  }

  /** Forgets a pod (it is done with), so the map does not grow forever. */
  forget(uid: string): void {
    for (const key of this.lastSent.keys()) if (key.startsWith(`${uid}/`)) this.lastSent.delete(key);
  }
}
