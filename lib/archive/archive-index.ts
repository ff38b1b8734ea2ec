/**
 * Jobs known only from the archive: loaded once at start, then added as Jobs
 * disappear from the cluster, so /jobs and /jobs/{id} keep answering for them.
 */
import type { Logger } from 'pino';
import type { JobRecord } from './layout.js';
import type { StatusInfo } from '../job-status.js';
import type { ArchiveReader } from './reader.js';

export class ArchiveIndex {
  private readonly records = new Map<string, JobRecord>();

  constructor(
    readonly reader: ArchiveReader,
    private readonly logger: Logger,
  ) {}

  async load(): Promise<void> {
    try {
      for (const record of await this.reader.allJobRecords()) this.add(record);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the job archive; archived jobs are not listed until it is readable');
    }
  }

  add(record: JobRecord): void {
    const id = String(record.status.jobID ?? '');
    if (id) this.records.set(id, record);
  }

  /** Reads the record of a job that just left the cluster (the controller may still be writing it). */
  async fetch(jobId: string, jobName: string): Promise<JobRecord | undefined> {
    const known = this.records.get(jobId);
    if (known) return known;
    try {
      const record = await this.reader.jobRecord(jobName);
      if (record) this.add(record);
      return record;
    } catch (error) {
      this.logger.warn({ err: error, jobId }, 'could not read a job record from the archive');
      return undefined;
    }
  }

  record(jobId: string): JobRecord | undefined {
    return this.records.get(jobId);
  }

  status(jobId: string): StatusInfo | undefined {
    return this.records.get(jobId)?.status as StatusInfo | undefined;
  }

  allStatuses(): StatusInfo[] {
    return [...this.records.values()].map((r) => r.status as unknown as StatusInfo);
  }
}
