/**
 * The job history index in the archive bucket, next to the job records:
 *
 *   <prefix><namespace>/.history/entries/<hour>/<jobId>.json   one per job, never rewritten by anyone but its writer
 *   <prefix><namespace>/.history/pending/<hour>/<jobId>.json   the same entry, until it is folded into its segment
 *   <prefix><namespace>/.history/segments/<hour>.json          every entry of one hour, newest first
 *
 * `<hour>` is the UTC hour the job was created (YYYY-MM-DDTHH), so a segment
 * never needs reordering against its neighbours, a cursor skips whole
 * segments, and a datetime filter reads only the hours it covers. Entries are
 * the source of truth: a segment is derived from them and can always be
 * rebuilt from them. Job names cannot start with a dot, so `.history` never
 * meets a job's own folder. Pure.
 */
import type { OgcStatus, StatusInfo } from '../job-status.js';

export const HISTORY_FOLDER = '.history';
export const SEGMENT_VERSION = 1;

/** What the history keeps of a job: its status document without links, and its owner (who may see it). */
export type HistoryEntry = Omit<StatusInfo, 'links'> & { owner?: string };

export interface HistoryPosition {
  created: string;
  jobID: string;
}

const STATUSES = new Set<OgcStatus>(['accepted', 'running', 'successful', 'failed', 'dismissed']);
const HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}$/;
/** Job ids are UUIDs when we made them, names of labelled Jobs otherwise: never a slash. */
const JOB_ID = /^[^/]{1,253}$/;

export function historyRoot(prefix: string, namespace: string): string {
  return `${prefix}${namespace}/${HISTORY_FOLDER}/`;
}

/** The UTC hour of an ISO timestamp, or undefined when it is not one. */
export function hourOf(timestamp: string | undefined): string | undefined {
  if (!timestamp) return undefined;
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().slice(0, 13);
}

/**
 * An instant as ISO text, when its year has four digits (then text order is
 * time order, as job lists rely on); undefined beyond those years.
 */
export function sortableInstant(ms: number): string | undefined {
  const date = new Date(ms);
  const text = Number.isNaN(date.getTime()) ? '' : date.toISOString();
  return text.length === 24 ? text : undefined;
}

export function entryKey(prefix: string, namespace: string, hour: string, jobId: string): string {
  return `${historyRoot(prefix, namespace)}entries/${hour}/${jobId}.json`;
}

export function pendingKey(prefix: string, namespace: string, hour: string, jobId: string): string {
  return `${historyRoot(prefix, namespace)}pending/${hour}/${jobId}.json`;
}

export function segmentKey(prefix: string, namespace: string, hour: string): string {
  return `${historyRoot(prefix, namespace)}segments/${hour}.json`;
}

/** Hour and job id of an entry or pending key below `folder` (`<root>entries/` or `<root>pending/`). */
export function parseEntryKey(folder: string, key: string): { hour: string; jobId: string } | undefined {
  if (!key.startsWith(folder) || !key.endsWith('.json')) return undefined;
  const [hour, file, ...rest] = key.slice(folder.length, -'.json'.length).split('/');
  if (rest.length || !hour || !file || !HOUR.test(hour) || !JOB_ID.test(file)) return undefined;
  return { hour, jobId: file };
}

/** The hour of a segment key below `<root>segments/`. */
export function parseSegmentKey(folder: string, key: string): string | undefined {
  if (!key.startsWith(folder) || !key.endsWith('.json')) return undefined;
  const hour = key.slice(folder.length, -'.json'.length);
  return HOUR.test(hour) ? hour : undefined;
}

/** Newest first by creation, then by job id: the one order of job lists. ISO strings compare as text. */
export function newestFirst(a: HistoryPosition | HistoryEntry, b: HistoryPosition | HistoryEntry): number {
  const ca = a.created ?? '';
  const cb = b.created ?? '';
  if (ca !== cb) return ca < cb ? 1 : -1;
  return a.jobID < b.jobID ? 1 : a.jobID > b.jobID ? -1 : 0;
}

/** A filter of job lists on process ids and statuses: its test, and a key naming it (the same for the same filter). */
export interface Selection {
  key: string;
  keeps: (job: { processID?: string; status: string }) => boolean;
}

/** The selection of a filter, or undefined when it selects everything. */
export function selectionOf(filter: { processID?: readonly string[]; status?: readonly string[] }): Selection | undefined {
  const { processID, status } = filter;
  if (!processID?.length && !status?.length) return undefined;
  const processes = processID?.length ? new Set(processID) : undefined;
  const statuses = status?.length ? new Set(status) : undefined;
  return {
    key: JSON.stringify([processes ? [...processes].sort() : null, statuses ? [...statuses].sort() : null]),
    keeps: (job) => (!processes || (job.processID !== undefined && processes.has(job.processID))) && (!statuses || statuses.has(job.status)),
  };
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

/** A history entry from untrusted JSON, or undefined when it is not one (only known fields are kept). */
export function parseEntry(value: unknown): HistoryEntry | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.jobID !== 'string' || !JOB_ID.test(v.jobID) || !STATUSES.has(v.status as OgcStatus)) return undefined;
  if (typeof v.created !== 'string' || hourOf(v.created) === undefined) return undefined;
  for (const field of ['processID', 'message', 'started', 'finished', 'updated', 'owner'] as const) if (!optionalString(v[field])) return undefined;
  if (v.progress !== undefined && typeof v.progress !== 'number') return undefined;
  const entry: HistoryEntry = { jobID: v.jobID, type: 'process', status: v.status as OgcStatus, created: v.created };
  if (v.processID !== undefined) entry.processID = v.processID as string;
  if (v.message !== undefined) entry.message = v.message as string;
  if (v.started !== undefined) entry.started = v.started as string;
  if (v.finished !== undefined) entry.finished = v.finished as string;
  if (v.updated !== undefined) entry.updated = v.updated as string;
  if (v.progress !== undefined) entry.progress = v.progress as number;
  if (v.owner !== undefined) entry.owner = v.owner as string;
  return entry;
}

/**
 * The entry of an archived job: its status document (processID from the
 * record when the status lacks it). Jobs without a creation time have no
 * place in the order and are not indexed.
 */
export function entryOfRecord(record: { status: Record<string, unknown>; processId?: string; owner?: string }): HistoryEntry | undefined {
  const { links: _links, ...status } = record.status;
  return parseEntry({ ...(record.processId !== undefined ? { processID: record.processId } : {}), ...status, ...(record.owner !== undefined ? { owner: record.owner } : {}) });
}

export class CorruptSegmentError extends Error {
  override name = 'CorruptSegmentError';
}

export interface SegmentDocument {
  version: number;
  hour: string;
  entries: HistoryEntry[];
}

export function segmentDocument(hour: string, entries: Iterable<HistoryEntry>): SegmentDocument {
  return { version: SEGMENT_VERSION, hour, entries: [...entries].sort(newestFirst) };
}

/** The entries of a stored segment, newest first; CorruptSegmentError when it is not a segment of `hour`. */
export function parseSegment(text: string, hour: string): HistoryEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CorruptSegmentError(`segment ${hour}: not JSON (${(error as Error).message})`);
  }
  const doc = value as Partial<SegmentDocument> | null;
  if (typeof doc !== 'object' || doc === null || doc.version !== SEGMENT_VERSION || doc.hour !== hour || !Array.isArray(doc.entries)) {
    throw new CorruptSegmentError(`segment ${hour}: not a version ${SEGMENT_VERSION} segment of that hour`);
  }
  const entries: HistoryEntry[] = [];
  for (const [i, raw] of doc.entries.entries()) {
    const entry = parseEntry(raw);
    if (!entry || hourOf(entry.created) !== hour) throw new CorruptSegmentError(`segment ${hour}: entry ${i} is not a job of that hour`);
    entries.push(entry);
  }
  // Stored newest first; re-sorting costs little and protects the order every cursor relies on.
  return entries.sort(newestFirst);
}

/** `base` with `additions` folded in (an addition replaces the entry of the same job), newest first. */
export function mergeEntries(base: HistoryEntry[], additions: Iterable<HistoryEntry>): HistoryEntry[] {
  const byId = new Map(base.map((e) => [e.jobID, e]));
  for (const entry of additions) byId.set(entry.jobID, entry);
  return [...byId.values()].sort(newestFirst);
}

/** Cursor text for the position after `at` (opaque to clients, base64url of JSON). */
export function encodeCursor(at: HistoryPosition): string {
  return Buffer.from(JSON.stringify([at.created, at.jobID]), 'utf8').toString('base64url');
}

/** The position a cursor names, or undefined when it is not one of ours. */
export function decodeCursor(text: string): HistoryPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(text)) return undefined;
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [created, jobID] = value as unknown[];
    if (typeof created !== 'string' || typeof jobID !== 'string' || !JOB_ID.test(jobID)) return undefined;
    if (created !== '' && hourOf(created) === undefined) return undefined;
    return { created, jobID };
  } catch {
    return undefined;
  }
}
