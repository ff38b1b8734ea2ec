/**
 * One /jobs page from live and archived jobs merged as sorted streams:
 * order, a job both live and archived listed once (live), filters, offset,
 * positions forwards and backwards, and the archive read only as far as needed.
 */
import t from 'tap';
import { jobPage } from '../../api/jobs/job-listing.js';
import { parseJobListQuery } from '../../api/jobs/list-query.js';
import { encodeCursor, newestFirst, type HistoryEntry } from '../../lib/archive/history-layout.js';
import type { StatusInfo } from '../../lib/job-status.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 11, 1, 0, minute)).toISOString();
const job = (id: string, minute: number, extra: Partial<StatusInfo> = {}): StatusInfo => ({ jobID: id, type: 'process', status: 'successful', created: at(minute), ...extra });

// Live: even minutes; archived: odd minutes, plus `a4` archived while still listed live (as L4).
const LIVE = [job('L8', 8, { status: 'running' }), job('L6', 6), job('L4', 4, { processID: 'echo' }), job('L2', 2), job('L0', 0)].sort(newestFirst);
const ARCHIVED: HistoryEntry[] = [job('A9', 9), job('A7', 7, { status: 'failed', processID: 'echo' }), job('L4', 4, { status: 'dismissed' }), job('A5', 5), job('A3', 3), job('A1', 1, { processID: 'echo' })];
const liveIds = new Set(LIVE.map((j) => j.jobID));

function archive(reads: { count: number }, backwards = false): AsyncIterable<HistoryEntry> {
  const list = backwards ? [...ARCHIVED].reverse() : ARCHIVED;
  return {
    async *[Symbol.asyncIterator]() {
      for (const entry of list) {
        reads.count++;
        yield entry;
      }
    },
  };
}

async function ids(query: Record<string, unknown>, reads = { count: 0 }) {
  const parsed = parseJobListQuery(query, 3, 100);
  const archived = archive(reads, parsed.before !== undefined);
  // The route narrows the archive to the position; here the fake does it.
  // …and hands them over two at a time, as the index does an hour at a time.
  const narrowed: AsyncIterable<HistoryEntry[]> = {
    async *[Symbol.asyncIterator]() {
      let pair: HistoryEntry[] = [];
      for await (const e of archived) {
        if (parsed.after && newestFirst(e, parsed.after) <= 0) continue;
        if (parsed.before && newestFirst(e, parsed.before) >= 0) continue;
        pair.push(e);
        if (pair.length === 2) {
          yield pair;
          pair = [];
        }
      }
      if (pair.length) yield pair;
    },
  };
  const page = await jobPage(LIVE, narrowed, (id) => liveIds.has(id), parsed, Date.now());
  return { ids: page.items.map((j) => j.jobID), more: page.hasMore, statusOf: (id: string) => page.items.find((j) => j.jobID === id)?.status };
}

const position = (id: string, minute: number): string => encodeCursor({ created: at(minute), jobID: id });

t.test('merged newest first, pages by position both ways', async (t) => {
  const all = await ids({ limit: '100' });
  t.same([all.ids, all.more], [['A9', 'L8', 'A7', 'L6', 'A5', 'L4', 'A3', 'L2', 'A1', 'L0'], false], 'everything once');
  const first = await ids({});
  t.same([first.ids, first.more], [['A9', 'L8', 'A7'], true]);
  t.same((await ids({})).statusOf('L4'), undefined);
  t.equal((await ids({ limit: '10' })).statusOf('L4'), 'successful', 'the live job wins over its archived entry');
  t.same((await ids({ after: position('A7', 7) })).ids, ['L6', 'A5', 'L4']);
  t.same((await ids({ after: position('L4', 4) })).ids, ['A3', 'L2', 'A1']);
  const last = await ids({ after: position('A1', 1) });
  t.same([last.ids, last.more], [['L0'], false], 'the last page says so');
  const above = await ids({ before: position('L4', 4) });
  t.same([above.ids, above.more], [['A7', 'L6', 'A5'], true], 'before: the page ending just above, more above it');
  const top = await ids({ before: position('L8', 8) });
  t.same([top.ids, top.more], [['A9'], false], 'back at the top: nothing more before');
  t.same((await ids({ after: position('gone', 5) })).ids, ['A5', 'L4', 'A3'], 'a position whose job is gone still works');
});

t.test('filters and offset apply to the merged stream', async (t) => {
  t.same((await ids({ processID: 'echo' })).ids, ['A7', 'L4', 'A1']);
  t.same((await ids({ status: 'failed,running' })).ids, ['L8', 'A7']);
  t.same((await ids({ offset: '4' })).ids, ['A5', 'L4', 'A3']);
  t.same((await ids({ datetime: `${at(3)}/${at(6)}` })).ids, ['L6', 'A5', 'L4']);
  t.same((await ids({ datetime: `${at(4)}/${at(4)}` })).ids, ['L4'], 'an instant: the live jobs created then, bounds included');
  t.same((await ids({ datetime: `${at(3)}/${at(6)}`, before: position('A5', 5) })).ids, ['L6'], 'a time range walked backwards');
  t.same((await ids({ datetime: `${at(7)}/+010000-01-01T00:00:00Z`, limit: '10' })).ids, ['A9', 'L8', 'A7'], 'an end beyond year 9999 is open');
});

t.test('the archive is read only as far as the page needs', async (t) => {
  const reads = { count: 0 };
  await ids({ limit: '2' }, reads);
  // Three listed (one to know there is more), one read ahead, the live L4 skipped: 4 of 6.
  t.equal(reads.count, 4, `read ${reads.count} archived entries for a page of 2`);
});
