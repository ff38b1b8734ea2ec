/**
 * The API's writes to Kubernetes and its live log reads: create a Job,
 * dismiss one, stream a container's log. All through the part's one KubeHttp.
 */
import type { CoreV1Event, V1Job } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ANNOTATIONS } from '../../lib/contract.js';
import { isApiError, PATCH_TYPES, pointerSegment, type KubeHttp } from '../../lib/kube/http.js';
import { fromWire, toWire } from '../../lib/kube/objects.js';
import { unavailable } from '../ogc/exceptions.js';
import { kubeFailure } from './kube-errors.js';

export const EVENT_COMPONENT = 'k8s-job-manager-api';

export class JobClient {
  constructor(
    private readonly http: KubeHttp,
    private readonly namespace: string,
    private readonly identity = 'api',
  ) {}

  private jobPath(name?: string): string {
    const jobs = `/apis/batch/v1/namespaces/${this.namespace}/jobs`;
    return name ? `${jobs}/${name}` : jobs;
  }

  private logPath(pod: string): string {
    return `/api/v1/namespaces/${this.namespace}/pods/${pod}/log`;
  }

  /** An Event on the Job, so `kubectl describe job` says what happened; best effort (resolves false when not recorded). */
  async jobEvent(job: V1Job, type: 'Normal' | 'Warning', reason: string, message: string): Promise<boolean> {
    const name = job.metadata?.name ?? 'job';
    const time = new Date();
    const event: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace: this.namespace },
      involvedObject: { apiVersion: 'batch/v1', kind: 'Job', name, namespace: this.namespace, uid: job.metadata?.uid, resourceVersion: job.metadata?.resourceVersion },
      reason,
      message,
      type,
      source: { component: EVENT_COMPONENT },
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      reportingComponent: EVENT_COMPONENT,
      reportingInstance: this.identity,
    };
    try {
      await this.http.request({ method: 'POST', path: `/api/v1/namespaces/${this.namespace}/events`, body: toWire(event, 'CoreV1Event') });
      return true;
    } catch {
      return false;
    }
  }

  async create(job: V1Job): Promise<V1Job> {
    try {
      return fromWire<V1Job>(await this.http.request({ method: 'POST', path: this.jobPath(), body: toWire(job, 'V1Job') }), 'V1Job');
    } catch (error) {
      throw kubeFailure(error, `creating Job ${job.metadata?.name ?? ''}`);
    }
  }

  /**
   * Marks the Job dismissed, then deletes it; its pods terminate, and the
   * log finalizer keeps them until the controller archived their logs.
   */
  async dismiss(jobName: string, when: Date): Promise<void> {
    const mark = [{ op: 'add', path: `/metadata/annotations/${pointerSegment(ANNOTATIONS.dismissed)}`, value: when.toISOString() }];
    try {
      await this.http.request({ method: 'PATCH', path: this.jobPath(jobName), body: mark, contentType: PATCH_TYPES.json });
      await this.http.request({ method: 'DELETE', path: this.jobPath(jobName), query: { propagationPolicy: 'Background' } });
    } catch (error) {
      if (isApiError(error, 404)) return;
      throw kubeFailure(error, `dismissing Job ${jobName}`);
    }
  }

  /** The Job as the API server has it now (not the watch cache); undefined when gone. */
  async read(jobName: string): Promise<V1Job | undefined> {
    try {
      return fromWire<V1Job>(await this.http.request({ path: this.jobPath(jobName) }), 'V1Job');
    } catch (error) {
      if (isApiError(error, 404)) return undefined;
      throw kubeFailure(error, `reading Job ${jobName}`);
    }
  }

  /**
   * Records a delivered callback state on the Job, so no replica sends it
   * again: read, add, write with the read resourceVersion; a conflict (any
   * other write, e.g. a status update) re-reads and tries again.
   */
  async recordCallbackSent(jobName: string, add: (current: string | undefined) => string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const job = await this.read(jobName);
      if (!job) return;
      const current = job.metadata?.annotations?.[ANNOTATIONS.callbacksSent];
      const next = add(current);
      if (next === current) return;
      const body = { metadata: { resourceVersion: job.metadata?.resourceVersion, annotations: { [ANNOTATIONS.callbacksSent]: next } } };
      try {
        await this.http.request({ method: 'PATCH', path: this.jobPath(jobName), body, contentType: PATCH_TYPES.merge });
        return;
      } catch (error) {
        if (isApiError(error, 409)) continue;
        if (isApiError(error, 404)) return;
        throw kubeFailure(error, `recording callbacks of Job ${jobName}`);
      }
    }
    throw unavailable(`recording callbacks of Job ${jobName}: too many concurrent changes`);
  }

  /**
   * Follows a running container's log into `out` until the container ends
   * (then `out` ends) or the returned controller aborts (then `out` is
   * destroyed); rejects when the log cannot be read.
   */
  async followContainerLog(pod: string, container: string, out: Writable): Promise<AbortController> {
    const abort = new AbortController();
    const log = await this.http.stream({ path: this.logPath(pod), query: { container, follow: true }, signal: abort.signal });
    // Backpressure from `out`; an abort or a broken stream destroys `out` with the error, which its owner sees.
    pipeline(log, out).catch(() => undefined);
    return abort;
  }

  /** A container's log as a stream; rejects when the log cannot be read, and the stream errors when it breaks off. */
  async containerLog(pod: string, container: string): Promise<Readable> {
    return this.http.stream({ path: this.logPath(pod), query: { container } });
  }
}
