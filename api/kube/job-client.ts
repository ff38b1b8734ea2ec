/**
 * The API's writes to Kubernetes and its live log reads: create a Job,
 * dismiss one, stream a container's log.
 */
import { BatchV1Api, CoreV1Api, Log, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { ANNOTATIONS } from '../../lib/contract.js';
import { unavailable } from '../ogc/exceptions.js';
import { kubeFailure } from './kube-errors.js';

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export const EVENT_COMPONENT = 'k8s-job-manager-api';

export class JobClient {
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly log: Log;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly identity = 'api',
  ) {
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.log = new Log(kubeConfig);
  }

  /** An Event on the Job, so `kubectl describe job` says what happened; best effort (resolves false when not recorded). */
  async jobEvent(job: V1Job, type: 'Normal' | 'Warning', reason: string, message: string): Promise<boolean> {
    const name = job.metadata?.name ?? 'job';
    const time = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: this.namespace,
        body: {
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
        },
      });
      return true;
    } catch {
      return false;
    }
  }

  async create(job: V1Job): Promise<V1Job> {
    try {
      return await this.batch.createNamespacedJob({ namespace: this.namespace, body: job });
    } catch (error) {
      throw kubeFailure(error, `creating Job ${job.metadata?.name ?? ''}`);
    }
  }

  /**
   * Marks the Job dismissed, then deletes it; its pods terminate, and the
   * log finalizer keeps them until the controller archived their logs.
   */
  async dismiss(jobName: string, when: Date): Promise<void> {
    try {
      await this.batch.patchNamespacedJob(
        { namespace: this.namespace, name: jobName, body: [{ op: 'add', path: `/metadata/annotations/${ANNOTATIONS.dismissed.replace('/', '~1')}`, value: when.toISOString() }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
      await this.batch.deleteNamespacedJob({ namespace: this.namespace, name: jobName, propagationPolicy: 'Background' });
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw kubeFailure(error, `dismissing Job ${jobName}`);
    }
  }

  /** The Job as the API server has it now (not the watch cache); undefined when gone. */
  async read(jobName: string): Promise<V1Job | undefined> {
    try {
      return await this.batch.readNamespacedJob({ namespace: this.namespace, name: jobName });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
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
      try {
        await this.batch.patchNamespacedJob(
          { namespace: this.namespace, name: jobName, body: { metadata: { resourceVersion: job.metadata?.resourceVersion, annotations: { [ANNOTATIONS.callbacksSent]: next } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return;
      } catch (error) {
        if (statusOf(error) === 409) continue;
        if (statusOf(error) === 404) return;
        throw kubeFailure(error, `recording callbacks of Job ${jobName}`);
      }
    }
    throw unavailable(`recording callbacks of Job ${jobName}: too many concurrent changes`);
  }

  /**
   * Follows a running container's log into `out` until the container ends
   * or the returned controller aborts; rejects when the log cannot be read.
   */
  async followContainerLog(pod: string, container: string, out: Writable): Promise<AbortController> {
    return this.log.log(this.namespace, pod, container, out, { follow: true });
  }

  /** A container's log as a stream; rejects when the log cannot be read. */
  async containerLog(pod: string, container: string): Promise<Readable> {
    const out = new PassThrough();
    await this.log.log(this.namespace, pod, container, out, { follow: false });
    return out;
  }
}
