/**
 * The job history as the API reads it: archived jobs newest first, from a
 * position on, within a time range, without reading the whole history.
 *
 * At start it lists segment names (one key per hour of history) and the
 * pending copies not yet compacted; nothing else. An hour's entries are
 * loaded when a listing reaches it: its segment merged with the fresh
 * entries of that hour. A corrupt segment is rebuilt from its hour's entries.
 * The leader (one API replica) compacts: folds pending copies into their
 * segments and deletes them.
 */
import type { Logger } from 'pino';
import { LruCache } from '../lru-cache.js';
import { CorruptSegmentError, hourOf, mergeEntries, newestFirst, selectionOf, sortableInstant, type HistoryEntry, type Selection, type HistoryPosition } from './history-layout.js';
import type { HistoryStore, StoredEntry } from './history-store.js';
import type { OgcStatus } from '../job-status.js';

export interface HistoryIndexOptions {
  store: HistoryStore;
  logger: Logger;
  /** Entries of loaded hours kept in memory; least recently used hours go beyond it. */
  budgetEntries: number;
  /** Fresh entries that are no longer pending after this long were compacted (by us or the leader). */
  settleMs?: number;
}

/** Filters whose selection of an hour is kept (see HistoryIndex.selections). */
export const MAX_SELECTIONS_PER_HOUR = 8;

export interface HistoryRange {
  /** Only entries after this position in newest-first order. */
  after?: HistoryPosition;
  /** Only entries before this position, walked backwards (oldest first, from the position on). */
  before?: HistoryPosition;
  /** Created at or after (ms since the epoch). */
  start?: number;
  /** Created at or before (ms since the epoch). */
  end?: number;
  /** Only jobs of these processes. */
  processID?: readonly string[];
  /** Only jobs with these statuses. */
  status?: readonly OgcStatus[];
}

interface FreshEntry {
  entry: HistoryEntry;
  /** The pending copy it was read from (its ETag), or undefined when the API saw the job go itself. */
  etag?: string;
  addedAt: number;
}

export class HistoryIndex {
  /** Hours with archived jobs, newest first. Bound: one string per hour of history (8 760 a year). */
  private hours: string[] = [];
  private readonly hourSet = new Set<string>();
  /** Loaded hours: segment ∪ fresh, newest first. Bound: budgetEntries entries (LRU by hour). */
  private readonly loaded: LruCache<string, HistoryEntry[]>;
  private readonly loading = new Map<string, Promise<HistoryEntry[]>>();
  /**
   * The entries of a loaded hour that a filter (process ids, statuses)
   * keeps, so a filtered page walks only what it lists. Keyed by the hour's
   * array, which is replaced, never changed, when the hour changes. Bound:
   * MAX_SELECTIONS_PER_HOUR filters per hour, each at most the hour's
   * references (8 bytes per entry, against ≈ 500 for the entry); gone with
   * the hour's array.
   */
  private readonly selections = new WeakMap<HistoryEntry[], Map<string, HistoryEntry[]>>();
  /**
   * Entries archived since the last compaction, by hour then job id.
   * Bound: the pending copies in the bucket plus what add() brought within
   * settleMs; sync() drops the rest.
   */
  private readonly fresh = new Map<string, Map<string, FreshEntry>>();
  private readonly settleMs: number;

  constructor(private readonly options: HistoryIndexOptions) {
    this.loaded = new LruCache(options.budgetEntries, (entries) => entries.length + 1);
    this.settleMs = options.settleMs ?? 5 * 60_000;
  }

  /** Entries held in memory (loaded hours and fresh ones). */
  get heldEntries(): number {
    let fresh = 0;
    for (const hour of this.fresh.values()) fresh += hour.size;
    return this.loaded.weight + fresh;
  }

  get knownHours(): readonly string[] {
    return this.hours;
  }

  /** Lists hours and pending entries; no segment is read. */
  async start(): Promise<void> {
    for (const hour of await this.options.store.segmentHours()) this.addHour(hour);
    await this.sync(false);
  }

  /** A job that just went to the archive (seen by the API before compaction). */
  add(entry: HistoryEntry): void {
    this.addFresh(entry, undefined);
  }

  private addFresh(entry: HistoryEntry, etag: string | undefined): void {
    const hour = hourOf(entry.created);
    if (!hour) return;
    this.addHour(hour);
    let jobs = this.fresh.get(hour);
    if (!jobs) this.fresh.set(hour, (jobs = new Map()));
    jobs.set(entry.jobID, { entry, addedAt: Date.now(), ...(etag !== undefined ? { etag } : {}) });
    const loaded = this.loaded.get(hour);
    if (loaded) this.loaded.set(hour, mergeEntries(loaded, [entry]));
  }

  /**
   * Catches up with the bucket: pending copies become fresh entries, fresh
   * entries no longer pending (compacted meanwhile) go, and with `compact`
   * the pending copies are folded into their segments first.
   */
  async sync(compact: boolean): Promise<void> {
    const { store, logger } = this.options;
    let pending = await store.pending();
    if (compact && pending.length) {
      await this.compact(pending);
      pending = await store.pending();
    }
    const pendingByJob = new Map(pending.map((p) => [`${p.hour}/${p.jobId}`, p]));
    const now = Date.now();
    for (const [hour, jobs] of this.fresh) {
      let dropped = false;
      for (const [jobId, fresh] of jobs) {
        const stillPending = pendingByJob.has(`${hour}/${jobId}`);
        // Read from a pending copy that is gone: compacted. Seen go by the API: its copy may still be on its way.
        const compacted = fresh.etag !== undefined ? !stillPending : !stillPending && now - fresh.addedAt > this.settleMs;
        if (compacted) {
          jobs.delete(jobId);
          dropped = true;
        }
      }
      if (jobs.size === 0) this.fresh.delete(hour);
      // The segment holds them now: read it again when the hour is next listed.
      if (dropped) this.loaded.delete(hour);
    }
    for (const p of pending) {
      if (this.fresh.get(p.hour)?.get(p.jobId)?.etag === p.etag) continue;
      const entry = await this.pendingEntry(p);
      if (entry) this.addFresh(entry, p.etag);
      else logger.warn({ key: p.key }, 'a pending history entry is unreadable; it is skipped until rewritten');
    }
  }

  private async pendingEntry(p: StoredEntry): Promise<HistoryEntry | undefined> {
    const entry = await this.options.store.entry(p.key);
    return entry && hourOf(entry.created) === p.hour && entry.jobID === p.jobId ? entry : undefined;
  }

  /** Folds pending copies into their hours' segments, then deletes them. */
  private async compact(pending: StoredEntry[]): Promise<void> {
    const { store, logger } = this.options;
    const byHour = new Map<string, StoredEntry[]>();
    for (const p of pending) byHour.set(p.hour, [...(byHour.get(p.hour) ?? []), p]);
    for (const [hour, items] of byHour) {
      const base = await this.readSegment(hour);
      const additions: HistoryEntry[] = [];
      for (const item of items) {
        const fresh = this.fresh.get(hour)?.get(item.jobId);
        const entry = fresh?.etag === item.etag ? fresh.entry : await this.pendingEntry(item);
        if (entry) additions.push(entry);
      }
      const merged = mergeEntries(base, additions);
      await store.putSegment(hour, merged);
      // A copy rewritten between our read and this delete (milliseconds) misses this segment
      // until the hour is rebuilt; its entry object holds the new version.
      await store.delete(items.map((i) => i.key));
      const jobs = this.fresh.get(hour);
      for (const item of items) jobs?.delete(item.jobId);
      if (jobs?.size === 0) this.fresh.delete(hour);
      this.addHour(hour);
      if (this.loaded.has(hour)) this.loaded.set(hour, this.withFresh(hour, merged));
      logger.debug({ hour, added: additions.length, total: merged.length }, 'history segment compacted');
    }
  }

  /**
   * Archived entries in newest-first order within `range` (oldest first
   * when walking back from `before`), one hour per step: each hour read
   * once, when reached, and handed over as one array (one await per hour
   * read from S3, none for held hours). The first hour is found by binary
   * search, so a deep position costs no walk over the hours before it; each
   * next hour is one step on from where the current one is then, so hours
   * added meanwhile neither repeat nor skip one.
   */
  async *entries(range: HistoryRange = {}): AsyncGenerator<HistoryEntry[]> {
    const backwards = range.before !== undefined;
    const afterHour = range.after ? (hourOf(range.after.created) ?? '') : undefined;
    const beforeHour = range.before ? (hourOf(range.before.created) ?? '') : undefined;
    // A bound beyond the years 0000–9999 is left open: inRange() still applies it to the entries.
    const endHour = range.end !== undefined ? sortableInstant(range.end)?.slice(0, 13) : undefined;
    const startHour = range.start !== undefined ? sortableInstant(range.start)?.slice(0, 13) : undefined;
    // The hours the range covers: from `lower` to `upper`, either bound open.
    const upper = afterHour === undefined ? endHour : endHour === undefined || afterHour < endHour ? afterHour : endHour;
    const lower = beforeHour === undefined ? startHour : startHour === undefined || beforeHour > startHour ? beforeHour : startHour;
    const selection = selectionOf(range);
    let at = backwards ? this.firstOlder(lower ?? '', false) - 1 : upper === undefined ? 0 : this.firstOlder(upper, true);
    for (let hour = this.hours[at]; hour !== undefined; hour = this.hours[at]) {
      if (backwards ? upper !== undefined && hour > upper : lower !== undefined && hour < lower) return;
      const entries = this.loaded.get(hour) ?? (await this.hour(hour));
      const chosen = selection ? this.selected(entries, selection) : entries;
      const edge = hour === afterHour || hour === beforeHour || hour === startHour || hour === endHour;
      // Only hours at an edge of the range need their entries checked one by one.
      const inside = edge ? chosen.filter((entry) => inRange(entry, range)) : chosen;
      if (inside.length) yield backwards ? [...inside].reverse() : inside;
      // The next hour: one step on, from where this hour is now (hours added while we waited moved it).
      if (this.hours[at] !== hour) at = this.firstOlder(hour, true);
      at += backwards ? -1 : 1;
    }
  }

  /** The entries of `entries` (an hour) a selection keeps, made once per hour and selection. */
  private selected(entries: HistoryEntry[], selection: Selection): HistoryEntry[] {
    let byKey = this.selections.get(entries);
    if (!byKey) this.selections.set(entries, (byKey = new Map()));
    let chosen = byKey.get(selection.key);
    if (!chosen) {
      chosen = entries.filter(selection.keeps);
      // Bound: the first key in is the first out (insertion order).
      if (byKey.size >= MAX_SELECTIONS_PER_HOUR) byKey.delete(byKey.keys().next().value!);
      byKey.set(selection.key, chosen);
    }
    return chosen;
  }

  /** Index of the first hour (newest first) older than `hour`, or at most `hour` when `orSame`. */
  private firstOlder(hour: string, orSame: boolean): number {
    const hours = this.hours;
    let low = 0;
    let high = hours.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (orSame ? hours[mid]! > hour : hours[mid]! >= hour) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** The entries of one hour, newest first (read from S3 unless held). */
  async hour(hour: string): Promise<HistoryEntry[]> {
    const held = this.loaded.get(hour);
    if (held) return held;
    let loading = this.loading.get(hour);
    if (!loading) {
      loading = this.readSegment(hour)
        .then((entries) => {
          const merged = this.withFresh(hour, entries);
          this.loaded.set(hour, merged);
          return merged;
        })
        .finally(() => this.loading.delete(hour));
      this.loading.set(hour, loading);
    }
    return loading;
  }

  private withFresh(hour: string, entries: HistoryEntry[]): HistoryEntry[] {
    const fresh = this.fresh.get(hour);
    return fresh?.size ? mergeEntries(entries, [...fresh.values()].map((f) => f.entry)) : entries;
  }

  /** A segment's entries; a corrupt one is rebuilt from the hour's entries and written back. */
  private async readSegment(hour: string): Promise<HistoryEntry[]> {
    const { store, logger } = this.options;
    try {
      return (await store.segment(hour)) ?? [];
    } catch (error) {
      if (!(error instanceof CorruptSegmentError)) throw error;
      logger.warn({ hour, err: error }, 'history segment is corrupt; rebuilding it from its entries');
      const entries = await rebuildSegment(store, hour);
      logger.info({ hour, entries: entries.length }, 'history segment rebuilt');
      return entries;
    }
  }

  private addHour(hour: string): void {
    if (this.hourSet.has(hour)) return;
    this.hourSet.add(hour);
    // Insert keeping newest first; new hours are almost always the newest, so this is cheap.
    let i = 0;
    while (i < this.hours.length && this.hours[i]! > hour) i++;
    this.hours.splice(i, 0, hour);
  }
}

function inRange(entry: HistoryEntry, range: HistoryRange): boolean {
  if (range.after && newestFirst(entry, range.after) <= 0) return false;
  if (range.before && newestFirst(entry, range.before) >= 0) return false;
  const created = Date.parse(entry.created!);
  if (range.end !== undefined && created > range.end) return false;
  if (range.start !== undefined && created < range.start) return false;
  return true;
}

/** Reads every entry of `hour` (16 at a time) and writes its segment anew; returns the entries, newest first. */
export async function rebuildSegment(store: HistoryStore, hour: string): Promise<HistoryEntry[]> {
  const listed = await store.entriesOf(hour);
  const entries: HistoryEntry[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let item = listed.pop(); item; item = listed.pop()) {
        const entry = await store.entry(item.key);
        if (entry && entry.jobID === item.jobId && hourOf(entry.created) === hour) entries.push(entry);
      }
    }),
  );
  await store.putSegment(hour, entries);
  return entries.sort(newestFirst);
}
