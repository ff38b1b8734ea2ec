/**
 * The API's writes to Kubernetes and its live log reads: create a Job,
 * dismiss one, stream a container's log.
 */
import { BatchV1Api, Log, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { ANNOTATIONS } from '../../lib/contract.js';
import { serverError, unavailable } from '../ogc/exceptions.js';

interface HttpError {
  code?: number;
  body?: unknown;
}

function statusOf(error: unknown): number | undefined {
  const e = error as HttpError;
  return typeof e.code === 'number' ? e.code : undefined;
}

function messageOf(error: unknown): string {
  const e = error as HttpError & { message?: string };
  if (typeof e.body === 'string') {
    try {
      const parsed = JSON.parse(e.body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return e.body;
    }
  }
  if (e.body && typeof e.body === 'object' && 'message' in e.body) return String((e.body as { message: unknown }).message);
  return e.message ?? String(error);
}

/** Maps a Kubernetes API failure to what the OGC client should see. */
export function kubeFailure(error: unknown, doing: string): Error {
  const status = statusOf(error);
  if (status === undefined || status >= 500 || status === 429) return unavailable(`Kubernetes API unavailable while ${doing}: ${messageOf(error)}`);
  return serverError(`Kubernetes refused ${doing}: ${messageOf(error)}`);
}

export class JobClient {
  private readonly batch: BatchV1Api;
  private readonly log: Log;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
  ) {
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
    this.log = new Log(kubeConfig);
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
