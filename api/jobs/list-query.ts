/**
 * The /jobs query: filters of the job-list conformance class (type,
 * processID, status, datetime, minDuration, maxDuration), newest first, and
 * limit/offset paging. Pure over status documents.
 */
import { invalidParameter } from '../ogc/exceptions.js';
import type { OgcStatus, StatusInfo } from '../../lib/job-status.js';
import { decodeCursor, newestFirst, type HistoryEntry, type HistoryPosition } from '../../lib/archive/history-layout.js';

export { newestFirst };

export interface JobListQuery {
  type?: string[];
  processID?: string[];
  status?: OgcStatus[];
  datetime?: { start?: number; end?: number };
  minDuration?: number;
  maxDuration?: number;
  limit: number;
  offset: number;
  /** Only jobs after this position (newest first): the `after` cursor of a next link. */
  after?: HistoryPosition;
  /** Only jobs before this position: the `before` cursor of a prev link. */
  before?: HistoryPosition;
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

function position(value: unknown, name: string): HistoryPosition | undefined {
  if (value === undefined) return undefined;
  const decoded = typeof value === 'string' ? decodeCursor(value) : undefined;
  if (!decoded) throw invalidParameter(`${name}: not a position of this server (take it from a next or prev link)`);
  return decoded;
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
  const after = position(query.after, 'after');
  const before = position(query.before, 'before');
  if (after && before) throw invalidParameter('after, before: give one of them, not both');
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
    ...(after ? { after } : {}),
    ...(before ? { before } : {}),
  };
}

/** How long a job ran (started → finished, or → now while running), in seconds. */
export function durationSeconds(job: StatusInfo | HistoryEntry, now: number): number | undefined {
  if (!job.started) return undefined;
  const end = job.finished ? Date.parse(job.finished) : now;
  return Math.max(0, (end - Date.parse(job.started)) / 1000);
}

/** Whether the query filters at all (beyond paging). */
export function isFiltered(query: JobListQuery): boolean {
  return !!(query.processID || query.status || query.datetime || query.minDuration !== undefined || query.maxDuration !== undefined);
}

/** Whether a job passes the query's filters. */
export function matches(j: StatusInfo | HistoryEntry, query: JobListQuery, now: number): boolean {
  if (query.processID && (j.processID === undefined || !query.processID.includes(j.processID))) return false;
  if (query.status && !query.status.includes(j.status)) return false;
  if (query.datetime) {
    const created = j.created ? Date.parse(j.created) : undefined;
    if (created === undefined) return false;
    if (query.datetime.start !== undefined && created < query.datetime.start) return false;
    if (query.datetime.end !== undefined && created > query.datetime.end) return false;
  }
  if (query.minDuration !== undefined || query.maxDuration !== undefined) {
    const d = durationSeconds(j, now);
    if (d === undefined) return false;
    if (query.minDuration !== undefined && d < query.minDuration) return false;
    if (query.maxDuration !== undefined && d > query.maxDuration) return false;
  }
  return true;
}

/** Filters `jobs`, which must already be sorted with newestFirst. */
export function filterJobs(jobs: StatusInfo[], query: JobListQuery, now: number): StatusInfo[] {
  return isFiltered(query) ? jobs.filter((j) => matches(j, query, now)) : jobs;
}

export function page<T>(items: T[], query: JobListQuery): { items: T[]; hasNext: boolean; hasPrev: boolean } {
  return {
    items: items.slice(query.offset, query.offset + query.limit),
    hasNext: query.offset + query.limit < items.length,
    hasPrev: query.offset > 0,
  };
}
