/** The history index's keys, entries, segments and cursors (pure). */
import t from 'tap';
import {
  CorruptSegmentError,
  decodeCursor,
  encodeCursor,
  entryKey,
  entryOfRecord,
  hourOf,
  mergeEntries,
  newestFirst,
  parseEntry,
  parseEntryKey,
  parseSegment,
  parseSegmentKey,
  pendingKey,
  segmentDocument,
  segmentKey,
  selectionOf,
  sortableInstant,
  type HistoryEntry,
} from '../../lib/archive/history-layout.js';

const entry = (jobID: string, created: string, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({ jobID, type: 'process', status: 'successful', created, ...extra });

t.test('keys: one folder per hour, below the namespace, never a job folder', async (t) => {
  t.equal(entryKey('logs/', 'ns', '2026-12-02T17', 'id-1'), 'logs/ns/.history/entries/2026-12-02T17/id-1.json');
  t.equal(pendingKey('', 'ns', '2026-12-02T17', 'id-1'), 'ns/.history/pending/2026-12-02T17/id-1.json');
  t.equal(segmentKey('', 'ns', '2026-12-02T17'), 'ns/.history/segments/2026-12-02T17.json');
  t.same(parseEntryKey('ns/.history/pending/', 'ns/.history/pending/2026-12-02T17/id-1.json'), { hour: '2026-12-02T17', jobId: 'id-1' });
  for (const bad of ['ns/.history/pending/2026-12-02/id-1.json', 'ns/.history/pending/2026-12-02T17/a/b.json', 'ns/.history/pending/2026-12-02T17/id-1.txt', 'other/2026-12-02T17/id.json']) {
    t.equal(parseEntryKey('ns/.history/pending/', bad), undefined, bad);
  }
  t.equal(parseSegmentKey('ns/.history/segments/', 'ns/.history/segments/2026-12-02T17.json'), '2026-12-02T17');
  t.equal(parseSegmentKey('ns/.history/segments/', 'ns/.history/segments/junk.json'), undefined);
  t.equal(hourOf('2026-12-02T17:59:59.999+01:00'), '2026-12-02T16', 'UTC hour');
  t.equal(hourOf('yesterday'), undefined);
  t.equal(hourOf(undefined), undefined);
});

t.test('entries: only known fields of a valid status document', async (t) => {
  const record = { status: { jobID: 'a', type: 'process', status: 'failed', created: '2026-12-02T17:00:00Z', message: 'm', progress: 100, links: [{ href: 'x', rel: 'self' }], extra: 1 }, processId: 'p' };
  t.same(entryOfRecord(record), { jobID: 'a', type: 'process', status: 'failed', created: '2026-12-02T17:00:00Z', processID: 'p', message: 'm', progress: 100 });
  t.equal(entryOfRecord({ status: { jobID: 'a', status: 'successful' } }), undefined, 'no creation time, no place in the order');
  for (const bad of [null, [], 'x', { jobID: 'a/b', status: 'successful', created: '2026-12-02T17:00:00Z' }, { jobID: 'a', status: 'done', created: '2026-12-02T17:00:00Z' }, { jobID: 'a', status: 'running', created: '2026-12-02T17:00:00Z', message: 5 }, { jobID: 'a', status: 'running', created: '2026-12-02T17:00:00Z', progress: '5' }]) {
    t.equal(parseEntry(bad), undefined, JSON.stringify(bad));
  }
});

t.test('order: newest first, then by job id; merging replaces by job id', async (t) => {
  const a = entry('a', '2026-12-02T17:00:00.000Z');
  const b = entry('b', '2026-12-02T17:00:00.000Z');
  const c = entry('c', '2026-12-02T18:00:00.000Z');
  t.same([a, b, c].sort(newestFirst).map((e) => e.jobID), ['c', 'b', 'a']);
  const merged = mergeEntries([c, b, a], [{ ...a, status: 'failed' }, entry('d', '2026-12-02T17:30:00.000Z')]);
  t.same(merged.map((e) => `${e.jobID}:${e.status}`), ['c:successful', 'd:successful', 'b:successful', 'a:failed']);
});

t.test('segments: round trip, and every kind of damage is CorruptSegmentError', async (t) => {
  const hour = '2026-12-02T17';
  const entries = [entry('a', '2026-12-02T17:01:00.000Z'), entry('b', '2026-12-02T17:02:00.000Z')];
  t.same(parseSegment(JSON.stringify(segmentDocument(hour, entries)), hour).map((e) => e.jobID), ['b', 'a']);
  const damaged = [
    '{"version":1,"hour":"2026-12-02T17","entr',
    'null',
    JSON.stringify({ version: 2, hour, entries: [] }),
    JSON.stringify({ version: 1, hour: '2026-12-02T18', entries: [] }),
    JSON.stringify({ version: 1, hour, entries: {} }),
    JSON.stringify({ version: 1, hour, entries: [{ jobID: 'x' }] }),
    JSON.stringify({ version: 1, hour, entries: [entry('c', '2026-12-02T19:00:00.000Z')] }),
  ];
  for (const text of damaged) t.throws(() => parseSegment(text, hour), CorruptSegmentError, text.slice(0, 60));
});

t.test('cursors: opaque round trip; anything else is refused', async (t) => {
  const at = { created: '2026-12-02T17:00:00.000Z', jobID: '0b5c3c59-4b6e-4ed7-9f3e-0a0b0c0d0e0f' };
  t.same(decodeCursor(encodeCursor(at)), at);
  t.same(decodeCursor(encodeCursor({ created: '', jobID: 'x' })), { created: '', jobID: 'x' });
  const bad = ['', '!!!', Buffer.from('not json').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), Buffer.from('["x","a"]').toString('base64url'), Buffer.from('["2026-12-02T17:00:00Z","a/b"]').toString('base64url'), 'a'.repeat(3000)];
  for (const text of bad) t.equal(decodeCursor(text), undefined, text.slice(0, 40));
});

t.test('sortable instants: ISO text in the years 0000–9999, nothing beyond', async (t) => {
  t.equal(sortableInstant(Date.UTC(2026, 11, 1)), '2026-12-01T00:00:00.000Z');
  t.equal(sortableInstant(Date.UTC(10_000, 0, 1)), undefined, 'year 10000 would sort before year 2000 as text');
  t.equal(sortableInstant(Date.UTC(-1, 0, 1)), undefined);
  t.equal(sortableInstant(Number.NaN), undefined);
});

t.test('selections: any of the given processes and any of the given statuses; one key per filter', async (t) => {
  t.equal(selectionOf({}), undefined, 'no filter selects everything');
  t.equal(selectionOf({ processID: [], status: [] }), undefined);
  const s = selectionOf({ processID: ['b', 'a'], status: ['failed'] })!;
  t.ok(s.keeps({ processID: 'a', status: 'failed' }));
  t.notOk(s.keeps({ processID: 'a', status: 'successful' }));
  t.notOk(s.keeps({ processID: 'c', status: 'failed' }));
  t.notOk(s.keeps({ status: 'failed' }), 'a job without a process id matches no process filter');
  t.equal(selectionOf({ processID: ['a', 'b', 'a'], status: ['failed'] })!.key, s.key, 'order and repeats do not change the key');
  t.not(selectionOf({ processID: ['a'], status: ['failed'] })!.key, s.key);
  t.not(selectionOf({ status: ['a'] })!.key, selectionOf({ processID: ['a'] })!.key, 'a status is not a process');
});
