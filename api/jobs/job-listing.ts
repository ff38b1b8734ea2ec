/**
 * One page of /jobs: the live jobs (already in order) merged with the
 * archived ones (read hour by hour, in order) as two sorted streams, so a
 * page costs its own length plus what it skips, never a sort of everything.
 * Forwards from a position (or the start), or backwards from one for a
 * previous page. A job both live and archived is the live one.
 */
import { newestFirst, sortableInstant, type HistoryEntry, type HistoryPosition } from '../../lib/archive/history-layout.js';
import type { StatusInfo } from '../../lib/job-status.js';
import { isFiltered, matches, type JobListQuery } from './list-query.js';

export type ListedJob = StatusInfo | HistoryEntry;

/** Jobs newest first, read by position: an array, or the watch cache's order (a view, not a copy). */
export interface OrderedStatuses {
  readonly length: number;
  at(index: number): StatusInfo | undefined;
}

export interface JobPage {
  items: ListedJob[];
  /** More jobs lie beyond the page in the direction walked. */
  hasMore: boolean;
}

/** Index of the first job of `sorted` that comes after `position` (binary search). */
function firstAfter(sorted: OrderedStatuses, position: HistoryPosition): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (newestFirst(sorted.at(mid)!, position) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Index of the first job of `sorted` at or after `position`. */
function firstAtOrAfter(sorted: OrderedStatuses, position: HistoryPosition): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (newestFirst(sorted.at(mid)!, position) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The stretch [newest, oldest) of `live` a datetime filter can match: jobs
 * created after its end come before it, jobs created before its start after
 * it. Creation times are ISO strings of one format (toISOString), so their
 * text order is their time order; a bound beyond the years 0000–9999 is
 * left open; the filter itself still decides each job.
 */
function liveStretch(live: OrderedStatuses, query: JobListQuery): { newest: number; oldest: number } {
  const { start, end } = query.datetime ?? {};
  // '\uffff' sorts after every job id: the position after every job created at that instant.
  const endText = end === undefined ? undefined : sortableInstant(end);
  const startText = start === undefined ? undefined : sortableInstant(start);
  const newest = endText === undefined ? 0 : firstAfter(live, { created: endText, jobID: '\uffff' });
  const oldest = startText === undefined ? live.length : firstAfter(live, { created: startText, jobID: '' });
  return { newest, oldest };
}

/**
 * `archived` (arrays of entries, an hour at a time) must walk the same way
 * (newest first, or oldest first before `query.before`) and may already be
 * narrowed to the query's position and time range.
 */
export async function jobPage(
  live: OrderedStatuses,
  archived: AsyncIterable<HistoryEntry[]> | undefined,
  isLive: (jobId: string) => boolean,
  query: JobListQuery,
  now: number,
  /** Jobs the caller may see (all when absent); applied before paging, like a filter. */
  visible?: (job: ListedJob) => boolean,
): Promise<JobPage> {
  const backwards = query.before !== undefined;
  const filtered = isFiltered(query);
  const out: ListedJob[] = [];
  let skipped = 0;
  const take = (job: ListedJob): void => {
    if (filtered && !matches(job, query, now)) return;
    if (visible && !visible(job)) return;
    if (skipped < query.offset) skipped++;
    else out.push(job);
  };

  const step = backwards ? -1 : 1;
  let i = query.before ? firstAtOrAfter(live, query.before) - 1 : query.after ? firstAfter(live, query.after) : 0;
  // A time range narrows the live jobs to a stretch of the order: found by binary search, not walked.
  const { newest, oldest } = liveStretch(live, query);
  if (backwards) i = Math.min(i, oldest - 1);
  else i = Math.max(i, newest);
  const liveAt = (index: number): StatusInfo | undefined => (index >= newest && index < oldest ? live.at(index) : undefined);
  const iterator = archived?.[Symbol.asyncIterator]();
  let chunk: HistoryEntry[] = [];
  let at = 0;
  const nextArchived = async (): Promise<HistoryEntry | undefined> => {
    for (;;) {
      while (at < chunk.length) {
        const entry = chunk[at++]!;
        if (!isLive(entry.jobID)) return entry;
      }
      if (!iterator) return undefined;
      const next = await iterator.next();
      if (next.done) return undefined;
      chunk = next.value;
      at = 0;
    }
  };
  let head = await nextArchived();
  try {
    while (out.length <= query.limit) {
      // Not `at(-1)`: walking backwards past the start ends the live jobs, it does not wrap.
      const liveJob = liveAt(i);
      if (!liveJob && !head) break;
      // Forwards the newer comes first; backwards the older.
      if (liveJob && (!head || newestFirst(liveJob, head) * step <= 0)) {
        take(liveJob);
        i += step;
      } else {
        take(head!);
        head = await nextArchived();
      }
    }
  } finally {
    await iterator?.return?.();
  }
  const items = out.slice(0, query.limit);
  return { items: backwards ? items.reverse() : items, hasMore: out.length > query.limit };
}
