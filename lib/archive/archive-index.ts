/**
 * Jobs known only from the archive. The history index lists them (newest
 * first, hour by hour, never the whole history at once); their job records
 * are read one at a time when asked for and kept in an LRU.
 */
import type { Logger } from 'pino';
import type { JobRecord } from './layout.js';
import { entryOfRecord, type HistoryEntry } from './history-layout.js';
import type { HistoryIndex, HistoryRange } from './history-index.js';
import { LruCache } from '../lru-cache.js';
import type { ArchiveReader } from './reader.js';

export class ArchiveIndex {
  /** Job records read for /jobs/{id}, results and logs. Bound: recordBudgetBytes of their JSON (LRU). */
  private readonly records: LruCache<string, JobRecord>;

  constructor(
    readonly reader: ArchiveReader,
    readonly history: HistoryIndex,
    private readonly logger: Logger,
    recordBudgetBytes: number,
  ) {
    this.records = new LruCache(recordBudgetBytes, (record) => JSON.stringify(record).length);
  }

  async load(): Promise<void> {
    try {
      await this.history.start();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the job history index; archived jobs are not listed until it is readable');
    }
  }

  add(record: JobRecord): void {
    const id = String(record.status.jobID ?? '');
    if (!id) return;
    this.records.set(id, record);
    const entry = entryOfRecord(record);
    if (entry) this.history.add(entry);
  }

  /** The record of a job if it was read already (no S3 request). */
  record(jobId: string): JobRecord | undefined {
    return this.records.get(jobId);
  }

  /** Reads the record of a job (the controller may still be writing it after the Job went). */
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

  /** Archived jobs in newest-first order within `range`, an hour at a time. */
  entries(range: HistoryRange): AsyncIterable<HistoryEntry[]> {
    return this.history.entries(range);
  }
}
