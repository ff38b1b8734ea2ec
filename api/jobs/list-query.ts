/**
 * The /jobs query: filters of the job-list conformance class (type,
 * processID, status, datetime, minDuration, maxDuration), newest first, and
 * limit/offset paging. Pure over status documents.
 */
import { invalidParameter } from '../ogc/exceptions.js';
import type { OgcStatus, StatusInfo } from '../../lib/job-status.js';

export interface JobListQuery {
  type?: string[];
  processID?: string[];
  status?: OgcStatus[];
  datetime?: { start?: number; end?: number };
  minDuration?: number;
  maxDuration?: number;
  limit: number;
  offset: number;
}

const STATUSES: OgcStatus[] = ['accepted', 'running', 'successful', 'failed', 'dismissed'];

function list(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const values = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean);
  return values.length ? values : undefined;
}

function instant(text: string, what: string): number | undefined {
  if (text === '..' || text === '') return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalidParameter(`${what}: "${text}" is not an RFC 3339 date-time`);
  return ms;
}

function seconds(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw invalidParameter(`${name}: must be a whole number of seconds ≥ 0, got "${String(value)}"`);
  return n;
}

export function parseJobListQuery(query: Record<string, unknown>, defaultLimit: number, maxLimit: number): JobListQuery {
  const limitRaw = query.limit;
  const limit = limitRaw === undefined ? defaultLimit : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1) throw invalidParameter(`limit: must be an integer ≥ 1, got "${String(limitRaw)}"`);
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  if (!Number.isInteger(offset) || offset < 0) throw invalidParameter(`offset: must be an integer ≥ 0, got "${String(query.offset)}"`);
  const status = list(query.status);
  for (const s of status ?? []) if (!STATUSES.includes(s as OgcStatus)) throw invalidParameter(`status: "${s}" is not one of ${STATUSES.join(', ')}`);
  const type = list(query.type);
  for (const t of type ?? []) if (t !== 'process') throw invalidParameter(`type: "${t}" is not supported (only "process")`);
  let datetime: JobListQuery['datetime'];
  if (query.datetime !== undefined && typeof query.datetime !== 'string') throw invalidParameter('datetime: give one instant or one interval, not several');
  if (typeof query.datetime === 'string') {
    const [a, b] = query.datetime.split('/');
    datetime = b === undefined ? { start: instant(a!, 'datetime'), end: instant(a!, 'datetime') } : { start: instant(a!, 'datetime'), end: instant(b, 'datetime') };
  }
  const minDuration = seconds(query.minDuration, 'minDuration');
  const maxDuration = seconds(query.maxDuration, 'maxDuration');
  return {
    ...(type ? { type } : {}),
    ...(list(query.processID) ? { processID: list(query.processID) } : {}),
    ...(status ? { status: status as OgcStatus[] } : {}),
    ...(datetime ? { datetime } : {}),
    ...(minDuration !== undefined ? { minDuration } : {}),
    ...(maxDuration !== undefined ? { maxDuration } : {}),
    limit: Math.min(limit, maxLimit),
    offset,
  };
}

/** How long a job ran (started → finished, or → now while running), in seconds. */
export function durationSeconds(job: StatusInfo, now: number): number | undefined {
  if (!job.started) return undefined;
  const end = job.finished ? Date.parse(job.finished) : now;
  return Math.max(0, (end - Date.parse(job.started)) / 1000);
}

/** Newest first, then by id; ISO timestamps compare as plain strings (localeCompare is far slower). */
export function newestFirst(a: StatusInfo, b: StatusInfo): number {
  const ca = a.created ?? '';
  const cb = b.created ?? '';
  if (ca !== cb) return ca < cb ? 1 : -1;
  return a.jobID < b.jobID ? 1 : a.jobID > b.jobID ? -1 : 0;
}

/** Filters `jobs`, which must already be sorted with newestFirst. */
export function filterJobs(jobs: StatusInfo[], query: JobListQuery, now: number): StatusInfo[] {
  const unfiltered = !query.processID && !query.status && !query.datetime && query.minDuration === undefined && query.maxDuration === undefined;
  if (unfiltered) return jobs;
  return jobs
    .filter((j) => !query.processID || (j.processID !== undefined && query.processID.includes(j.processID)))
    .filter((j) => !query.status || query.status.includes(j.status))
    .filter((j) => {
      if (!query.datetime) return true;
      const created = j.created ? Date.parse(j.created) : undefined;
      if (created === undefined) return false;
      return (query.datetime.start === undefined || created >= query.datetime.start) && (query.datetime.end === undefined || created <= query.datetime.end);
    })
    .filter((j) => {
      if (query.minDuration === undefined && query.maxDuration === undefined) return true;
      const d = durationSeconds(j, now);
      if (d === undefined) return false;
      return (query.minDuration === undefined || d >= query.minDuration) && (query.maxDuration === undefined || d <= query.maxDuration);
    });
}

export function page<T>(items: T[], query: JobListQuery): { items: T[]; hasNext: boolean; hasPrev: boolean } {
  return {
    items: items.slice(query.offset, query.offset + query.limit),
    hasNext: query.offset + query.limit < items.length,
    hasPrev: query.offset > 0,
  };
}
