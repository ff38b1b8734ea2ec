/**
 * Finding a job by id across where it may live: the watch cache (live Jobs
 * and recent tombstones), then the archive.
 */
import type { V1Job } from '@kubernetes/client-node';
import { jobNameFor } from '../../lib/contract.js';
import type { JobRecord } from '../../lib/archive/layout.js';
import type { ApiContext } from '../context.js';
import { noSuchJob } from '../ogc/exceptions.js';
import type { StatusInfo } from '../../lib/job-status.js';

export interface FoundJob {
  status: StatusInfo;
  job?: V1Job;
  record?: JobRecord;
}

/** A lookup: the job if there is one, and whether finding out took a read of the archive (an S3 request). */
export interface JobLookup {
  found?: FoundJob;
  readArchive: boolean;
}

export async function lookUpJob(context: ApiContext, jobId: string): Promise<JobLookup> {
  const job = context.jobs.job(jobId);
  const live = context.jobs.status(jobId);
  if (job && live) return { found: { status: live, job }, readArchive: false };
  const readArchive = context.archive !== undefined && context.archive.record(jobId) === undefined;
  const record = await context.archive?.fetch(jobId, jobNameFor(jobId, context.config.settings.jobNamePrefix));
  // A dismissal the cache saw outranks a record written before it (a job dismissed after it finished).
  if (record && live?.status !== 'dismissed') return { found: { status: record.status as unknown as StatusInfo, record }, readArchive };
  if (live) return { found: { status: live, ...(record ? { record } : {}) }, readArchive };
  return { readArchive };
}

export async function findJob(context: ApiContext, jobId: string): Promise<FoundJob> {
  const { found } = await lookUpJob(context, jobId);
  if (!found) throw noSuchJob(jobId);
  return found;
}

/**
 * Makes a lookup cost what the lookup of an id that does not exist costs: one
 * read of the archive (none without a bucket). A job the caller may not see
 * is answered only after it, so the time of the 404 does not tell whether the
 * id exists (a live Job or a cached record would otherwise answer at once,
 * an unknown id only after the S3 round trip). No cache, so no bound: one
 * extra S3 request per hidden-job lookup.
 */
export async function costLikeUnknownId(context: ApiContext, jobId: string, lookup: JobLookup): Promise<void> {
  if (lookup.readArchive || !context.archive) return;
  try {
    await context.archive.reader.jobRecord(jobNameFor(jobId, context.config.settings.jobNamePrefix));
  } catch {
    // The answer is 404 whatever the archive says.
  }
}
