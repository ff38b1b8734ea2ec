/**
 * Live progress of running jobs, read from their logs: the API follows the
 * log of every running container of a running job and keeps the latest
 * PYGEOAPI_K8S_MANAGER_PROGRESS marker, which then stands in the job's status
 * document (progress and message) wherever the API serves one. No marker, no
 * progress: a running job without markers has none.
 *
 * Bounds: at most `maxJobs` jobs are followed at once (further running jobs
 * are not followed until a slot frees); an entry lives only while its job
 * runs and is dropped, with its log streams, when the job stops running or
 * leaves the cache.
 */
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { V1Pod } from '@kubernetes/client-node';
import { ProgressScanner, type ProgressReport } from '../../lib/result-markers.js';
import type { StatusInfo } from '../../lib/job-status.js';
import type { JobCache } from '../kube/job-cache.js';
import type { JobClient } from '../kube/job-client.js';

export interface ProgressTrackerOptions {
  jobs: JobCache;
  client: Pick<JobClient, 'followContainerLog'>;
  logger: Logger;
  /** Most jobs followed at once (default 256). */
  maxJobs?: number;
}

interface Followed {
  /** pod uid/container name of every log followed so far (ended ones too, so they are not followed twice). */
  containers: Set<string>;
  aborts: AbortController[];
  report?: ProgressReport;
}

/** The running containers of a job's pods, as followable keys. */
export function runningContainers(pods: V1Pod[]): Array<{ key: string; pod: string; container: string }> {
  return pods.flatMap((pod) =>
    [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
      .filter((c) => c.state?.running)
      .map((c) => ({ key: `${pod.metadata?.uid ?? ''}/${c.name}`, pod: pod.metadata?.name ?? '', container: c.name })),
  );
}

/** A status document with the latest reported progress of its job (only while it runs). */
export function withProgress(status: StatusInfo, report: ProgressReport | undefined): StatusInfo {
  if (status.status !== 'running' || !report) return status;
  return { ...status, progress: report.progress, ...(report.message ? { message: report.message } : {}) };
}

export class ProgressTracker {
  private readonly followed = new Map<string, Followed>();
  private unsubscribe: (() => void) | undefined;
  private readonly maxJobs: number;

  constructor(private readonly options: ProgressTrackerOptions) {
    this.maxJobs = options.maxJobs ?? 256;
  }

  start(): void {
    this.unsubscribe = this.options.jobs.subscribe((jobId) => this.reconcile(jobId));
    for (const status of this.options.jobs.allStatuses()) if (status.status === 'running') this.reconcile(status.jobID);
  }

  stop(): void {
    this.unsubscribe?.();
    for (const jobId of [...this.followed.keys()]) this.drop(jobId);
  }

  /** The status with its job's live progress. */
  apply(status: StatusInfo): StatusInfo {
    return withProgress(status, this.followed.get(status.jobID)?.report);
  }

  /** How many jobs are followed now (for tests and metrics). */
  get size(): number {
    return this.followed.size;
  }

  private reconcile(jobId: string): void {
    const job = this.options.jobs.job(jobId);
    const status = this.options.jobs.status(jobId);
    if (!job || status?.status !== 'running') {
      this.drop(jobId);
      return;
    }
    let entry = this.followed.get(jobId);
    if (!entry) {
      if (this.followed.size >= this.maxJobs) return;
      this.followed.set(jobId, (entry = { containers: new Set(), aborts: [] }));
    }
    for (const target of runningContainers(this.options.jobs.objects(job).pods)) {
      if (entry.containers.has(target.key)) continue;
      entry.containers.add(target.key);
      void this.follow(jobId, entry, target.pod, target.container);
    }
  }

  private async follow(jobId: string, entry: Followed, pod: string, container: string): Promise<void> {
    const scanner = new ProgressScanner();
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (scanner.feed(chunk)) entry.report = scanner.latest();
        done();
      },
    });
    try {
      const abort = await this.options.client.followContainerLog(pod, container, sink);
      if (this.followed.get(jobId) === entry) entry.aborts.push(abort);
      else abort.abort();
    } catch (error) {
      this.options.logger.debug({ err: error, jobId, pod, container }, 'log not followable for progress');
    }
  }

  private drop(jobId: string): void {
    const entry = this.followed.get(jobId);
    if (!entry) return;
    this.followed.delete(jobId);
    for (const abort of entry.aborts) abort.abort();
  }
}
