/**
 * Builds the history index of archives written before it existed: every
 * job record (`<prefix><namespace>/<job>/job.json`, written by this manager
 * in either log layout) gets its entry, and every hour touched gets its
 * segment rebuilt from its entries. Idempotent; memory stays bounded (it
 * keeps only the set of hours, not the records). The Python manager wrote
 * no job records (only `<date>_<job>-logs.txt` files, no status), so there
 * is nothing of its own to index: it never listed jobs after they were gone.
 */
import { entryKey, entryOfRecord, HISTORY_FOLDER, hourOf } from './history-layout.js';
import { rebuildSegment } from './history-index.js';
import type { HistoryStore } from './history-store.js';

export interface ReindexReport {
  records: number;
  indexed: number;
  /** Records that are unreadable or have no creation time, by key. */
  skipped: string[];
  hours: number;
}

const CONCURRENCY = 16;

export async function reindexHistory(store: HistoryStore, progress: (done: number) => void = () => undefined): Promise<ReindexReport> {
  const { prefix, namespace } = store.at;
  const report: ReindexReport = { records: 0, indexed: 0, skipped: [], hours: 0 };
  const hours = new Set<string>();
  const queue: string[] = [];
  const work = async (): Promise<void> => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      let entry;
      try {
        const text = await store.text(key);
        entry = text === undefined ? undefined : entryOfRecord(JSON.parse(text) as { status: Record<string, unknown>; processId?: string });
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
      }
      const hour = hourOf(entry?.created);
      if (!entry || !hour) {
        report.skipped.push(key);
        continue;
      }
      await store.putJson(entryKey(prefix, namespace, hour, entry.jobID), entry);
      hours.add(hour);
      report.indexed++;
      if (report.indexed % 1000 === 0) progress(report.indexed);
    }
  };
  const flush = async (): Promise<void> => {
    await Promise.all(Array.from({ length: CONCURRENCY }, work));
  };
  for await (const { key } of store.objects(`${prefix}${namespace}/`)) {
    if (!key.endsWith('/job.json') || key.startsWith(`${prefix}${namespace}/${HISTORY_FOLDER}/`)) continue;
    report.records++;
    queue.push(key);
    if (queue.length >= 1000) await flush();
  }
  await flush();
  const pendingHours = [...hours];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let hour = pendingHours.shift(); hour !== undefined; hour = pendingHours.shift()) await rebuildSegment(store, hour);
    }),
  );
  report.hours = hours.size;
  return report;
}
