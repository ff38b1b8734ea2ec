/** Waiting for a job to finish on the watch cache (no polling), with a bound. */
import type { JobCache } from '../kube/job-cache.js';
import type { StatusInfo } from '../../lib/job-status.js';

const FINISHED = new Set(['successful', 'failed', 'dismissed']);

/** Resolves with the final status, or undefined when `timeoutMs` passes first. */
export function waitForJob(jobs: JobCache, jobId: string, timeoutMs: number): Promise<StatusInfo | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: StatusInfo | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      resolve(status);
    };
    const check = (): void => {
      const status = jobs.status(jobId);
      if (status && FINISHED.has(status.status)) finish(status);
    };
    const unsubscribe = jobs.subscribe((id) => {
      if (id === jobId) check();
    });
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    check();
  });
}
