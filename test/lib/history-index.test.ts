/**
 * The history index against the embedded S3: entries written by the writer
 * are listed newest first; cold start reads no segment; cursors stay put
 * while jobs are added and compacted; time ranges skip hours; memory stays
 * within its budget; a corrupt segment is rebuilt, not a crash.
 */
import t, { type Test } from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pino from 'pino';
import { HistoryStore } from '../../lib/archive/history-store.js';
import { HistoryIndex } from '../../lib/archive/history-index.js';
import { recordInHistory } from '../../lib/archive/history-writer.js';
import { newestFirst, segmentKey, type HistoryEntry } from '../../lib/archive/history-layout.js';
import { embeddedS3WithClient } from '../helpers/embedded-s3-client.js';

const BUCKET = 'history';
const NS = 'jobs';
const PREFIX = 'logs/';
const logger = pino({ level: 'silent' });

async function bucket(t: Test) {
  const { client } = await embeddedS3WithClient(t, BUCKET);
  const store = new HistoryStore({ s3: client, bucket: BUCKET, prefix: PREFIX, namespace: NS });
  const writer = { putJson: (key: string, value: unknown) => store.putJson(key, value) };
  const signal = new AbortController().signal;
  const archive = async (entry: HistoryEntry): Promise<void> => {
    t.ok(await recordInHistory(writer, PREFIX, NS, { status: { ...entry } }, signal), `indexed ${entry.jobID}`);
  };
  /** Writes entries 16 at a time (s3rver is slow per object; order does not matter to the index). */
  const archiveAll = async (entries: HistoryEntry[]): Promise<void> => {
    const queue = [...entries];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let e = queue.shift(); e; e = queue.shift()) await archive(e);
    }));
  };
  return { client, store, archive, archiveAll };
}

/** `n` jobs, one every `stepMinutes`, from `start` on; ids sort with time. */
function jobs(n: number, start: number, stepMinutes: number, tag = 'j'): HistoryEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    jobID: `${tag}-${String(i).padStart(5, '0')}`,
    type: 'process' as const,
    processID: i % 3 ? 'echo' : 'hello',
    status: i % 4 ? ('successful' as const) : ('failed' as const),
    created: new Date(start + i * stepMinutes * 60_000).toISOString(),
  }));
}

async function all(index: HistoryIndex, range = {}): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  for await (const hour of index.entries(range)) out.push(...hour);
  return out;
}

const T0 = Date.parse('2026-11-30T00:00:00.000Z');

t.test('newest first across hours, compaction, and a cold start that reads no segment', async (t) => {
  const { store, archiveAll } = await bucket(t);
  const written = jobs(120, T0, 7);
  await archiveAll(written);
  const expected = [...written].sort(newestFirst).map((e) => e.jobID);

  const before = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
  await before.start();
  t.same((await all(before)).map((e) => e.jobID), expected, 'pending entries are listed before any compaction');
  await before.sync(true);
  t.same(await store.pending(), [], 'compaction folds and deletes every pending copy');
  t.same((await all(before)).map((e) => e.jobID), expected, 'the same after compaction');

  let segmentReads = 0;
  const counting = Object.create(store) as HistoryStore;
  counting.segment = (hour: string) => {
    segmentReads++;
    return store.segment(hour);
  };
  const cold = new HistoryIndex({ store: counting, logger, budgetEntries: 10_000 });
  await cold.start();
  t.equal(segmentReads, 0, 'cold start reads no segment');
  t.equal(cold.knownHours.length, 14, 'but knows every hour (120 jobs × 7 minutes)');
  const first = [];
  for await (const hour of cold.entries()) {
    first.push(...hour.map((e) => e.jobID));
    if (first.length >= 10) break;
  }
  t.same(first.slice(0, 10), expected.slice(0, 10));
  t.equal(segmentReads, 2, 'the first ten newest jobs need the newest two hours only');
});

t.test('cursors stay put while jobs are added and archived', async (t) => {
  const { store, archive, archiveAll } = await bucket(t);
  const written = jobs(80, T0, 13);
  await archiveAll(written);
  const index = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
  await index.start();
  await index.sync(true);
  const page1 = (await all(index)).slice(0, 25);
  const cursor = { created: page1[24]!.created!, jobID: page1[24]!.jobID };

  // Newer jobs arrive (seen live, then written and compacted), and an older one is rewritten (a later pod of it).
  const newer = jobs(30, T0 + 80 * 13 * 60_000, 5, 'n');
  for (const e of newer) {
    await archive(e);
    index.add(e);
  }
  const rewritten = { ...written[10]!, status: 'dismissed' as const };
  await archive(rewritten);
  await index.sync(true);

  const page2 = (await all(index, { after: cursor })).slice(0, 25).map((e) => e.jobID);
  const expected = [...written].sort(newestFirst).slice(25, 50).map((e) => e.jobID);
  t.same(page2, expected, 'the next page is where it was');
  const everything = await all(index);
  t.equal(everything.length, 110, 'nothing twice');
  t.equal(everything.find((e) => e.jobID === rewritten.jobID)?.status, 'dismissed', 'a rewrite replaces');
});

t.test('time ranges read only the hours they cover', async (t) => {
  const { store, archiveAll } = await bucket(t);
  await archiveAll(jobs(60, T0, 20));
  const index = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
  await index.start();
  await index.sync(true);
  const start = T0 + 5 * 3_600_000;
  const end = T0 + 8 * 3_600_000 - 1;
  const within = await all(index, { start, end });
  t.equal(within.length, 9, '3 hours × 3 jobs');
  t.ok(within.every((e) => Date.parse(e.created!) >= start && Date.parse(e.created!) <= end));
  const instant = await all(index, { start: T0 + 40 * 60_000, end: T0 + 40 * 60_000 });
  t.same(instant.map((e) => e.jobID), ['j-00002'], 'one instant');
});

t.test('filters by process and status select within each hour, both ways, and see changes', async (t) => {
  const { store, archive, archiveAll } = await bucket(t);
  const written = jobs(90, T0, 9);
  await archiveAll(written);
  const index = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
  await index.start();
  await index.sync(true);
  const filter = { processID: ['hello'], status: ['failed' as const] };
  const expected = [...written].sort(newestFirst).filter((e) => e.processID === 'hello' && e.status === 'failed');
  t.ok(expected.length > 3, `${expected.length} jobs match`);
  t.same((await all(index, filter)).map((e) => e.jobID), expected.map((e) => e.jobID), 'only matching jobs, newest first');
  t.same((await all(index, filter)).map((e) => e.jobID), expected.map((e) => e.jobID), 'the same when the selection is reused');
  const cursor = { created: expected[1]!.created!, jobID: expected[1]!.jobID };
  t.same((await all(index, { ...filter, after: cursor })).map((e) => e.jobID), expected.slice(2).map((e) => e.jobID), 'after a position');
  t.same((await all(index, { ...filter, before: cursor })).map((e) => e.jobID), [expected[0]!.jobID], 'before a position, walking back');
  const either = await all(index, { status: ['failed', 'successful'], processID: ['echo', 'hello'] });
  t.equal(either.length, 90, 'several values of a filter are any of them');

  // A job of a loaded hour changes: the selection of that hour is made anew.
  const changed = { ...expected[0]!, status: 'successful' as const };
  await archive(changed);
  index.add(changed);
  t.same((await all(index, filter)).map((e) => e.jobID), expected.slice(1).map((e) => e.jobID), 'a job that no longer matches leaves the selection');
});

t.test('hours added during a walk neither repeat nor skip an hour', async (t) => {
  const { store, archiveAll } = await bucket(t);
  const written = jobs(40, T0, 20);
  await archiveAll(written);
  const expected = [...written].sort(newestFirst).map((e) => e.jobID);
  for (const backwards of [false, true]) {
    const index = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
    await index.start();
    await index.sync(true);
    const seen: string[] = [];
    let added = 0;
    // Backwards: from before the oldest job on, towards the newest.
    const range = backwards ? { before: { created: new Date(T0 - 1).toISOString(), jobID: '' } } : {};
    for await (const hour of index.entries(range)) {
      seen.push(...hour.map((e) => e.jobID));
      if (added === 3) continue;
      // Newer and older hours than any listed appear while the walk goes on.
      index.add({ jobID: `new-${added}`, type: 'process', status: 'successful', created: new Date(T0 + (50 + added) * 3_600_000).toISOString() });
      index.add({ jobID: `old-${added}`, type: 'process', status: 'successful', created: new Date(T0 - (50 + added) * 3_600_000).toISOString() });
      added++;
    }
    const listed = seen.filter((id) => !id.startsWith('new-') && !id.startsWith('old-'));
    t.same(backwards ? listed.reverse() : listed, expected, `every hour once, in order (${backwards ? 'backwards' : 'forwards'})`);
  }
});

t.test('a time range beyond the years 0000–9999 is open on that side', async (t) => {
  const { store, archiveAll } = await bucket(t);
  await archiveAll(jobs(5, T0, 30));
  const index = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
  await index.start();
  t.equal((await all(index, { end: Date.UTC(10_000, 0, 1) })).length, 5, 'an end after year 9999 keeps every job');
  t.equal((await all(index, { start: Date.UTC(-1, 0, 1) })).length, 5, 'a start before year 0 too');
});

t.test('memory stays within the budget while the whole history is walked', async (t) => {
  const { store, archiveAll } = await bucket(t);
  await archiveAll(jobs(200, T0, 6));
  const index = new HistoryIndex({ store, logger, budgetEntries: 50 });
  await index.start();
  await index.sync(true);
  let peak = 0;
  let seen = 0;
  for await (const hour of index.entries()) {
    seen += hour.length;
    peak = Math.max(peak, index.heldEntries);
  }
  t.equal(seen, 200);
  // An hour is 10 entries (+1 for its slot): the budget, plus the hour being read.
  t.ok(peak <= 50 + 11, `peak ${peak} entries held`);
  t.ok(index.heldEntries <= 50, 'within budget afterwards');
});

t.test('a corrupt segment is rebuilt from its entries, not a crash', async (t) => {
  const { client, store, archiveAll } = await bucket(t);
  const written = jobs(40, T0, 6);
  await archiveAll(written);
  const first = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
  await first.start();
  await first.sync(true);
  const hour = '2026-11-30T01';
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: segmentKey(PREFIX, NS, hour), Body: '{"version":1,"hour":"2026-11-30T01","entries":[{"jobI' }));

  const index = new HistoryIndex({ store, logger, budgetEntries: 10_000 });
  await index.start();
  t.same((await all(index)).map((e) => e.jobID), [...written].sort(newestFirst).map((e) => e.jobID), 'every job listed');
  t.same((await store.segment(hour))?.map((e) => e.jobID), written.filter((e) => e.created!.startsWith('2026-11-30T01')).map((e) => e.jobID).reverse(), 'segment written anew');
});
