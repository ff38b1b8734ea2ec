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

export async function findJob(context: ApiContext, jobId: string): Promise<FoundJob> {
  const job = context.jobs.job(jobId);
  const live = context.jobs.status(jobId);
  if (job && live) return { status: live, job };
  const record = await context.archive?.fetch(jobId, jobNameFor(jobId, context.config.settings.jobNamePrefix));
  if (record) return { status: record.status as unknown as StatusInfo, record };
  if (live) return { status: live };
  throw noSuchJob(jobId);
}
