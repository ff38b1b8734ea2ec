/** The store's journal: which log records recovery keeps (table), and snapshot plus log on real files. */
import t from 'tap';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, parseLog, type JournalRecord } from '../../local-cluster/api-server/journal.js';

const record = (rv: number, name = `o${rv}`, op: JournalRecord['op'] = 'put'): JournalRecord => ({
  rv,
  op,
  resource: 'configmaps',
  object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'n', resourceVersion: String(rv) } },
});
const line = (r: JournalRecord): string => `${JSON.stringify(r)}\n`;

t.test('parseLog', async (t) => {
  const whole = line(record(1)) + line(record(2));
  const cases: Array<[string, string, number, number[], number]> = [
    ['an empty log', '', 0, [], 0],
    ['whole records', whole, 0, [1, 2], Buffer.byteLength(whole)],
    ['records already in the snapshot are skipped', whole, 1, [2], Buffer.byteLength(whole)],
    ['a last line without newline is a torn write', whole + line(record(3)).slice(0, -1), 0, [1, 2], Buffer.byteLength(whole)],
    ['half a record is cut off', `${whole}{"rv":3,"op`, 0, [1, 2], Buffer.byteLength(whole)],
    ['a line that is not a record ends the log', `${line(record(1))}{"rv":"x"}\n${line(record(3))}`, 0, [1], Buffer.byteLength(line(record(1)))],
    ['a non-increasing version is not replayed twice', line(record(1)) + line(record(1)), 0, [1], Buffer.byteLength(line(record(1))) * 2],
  ];
  for (const [what, text, after, rvs, valid] of cases) {
    const parsed = parseLog(text, after);
    t.same(parsed.records.map((r) => r.rv), rvs, what);
    t.equal(parsed.validBytes, valid, `${what}: valid bytes`);
  }
});

t.test('a journal on disk: appends, a torn tail, a snapshot that empties the log', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
  let { journal, recovered } = Journal.open(dir, 300);
  t.same(recovered, { snapshot: { revision: 0, objects: [] }, records: [] }, 'a new folder is empty');
  journal.append(record(1));
  t.notOk(journal.wantsSnapshot, 'one record stays under the bound');
  journal.append(record(2));
  journal.close();
  writeFileSync(path.join(dir, 'wal.jsonl'), `${readFileSync(path.join(dir, 'wal.jsonl'), 'utf8')}{"rv":3`);

  ({ journal, recovered } = Journal.open(dir, 300));
  t.same(recovered.records.map((r) => r.rv), [1, 2], 'the torn record is dropped');
  t.equal(statSync(path.join(dir, 'wal.jsonl')).size, Buffer.byteLength(line(record(1)) + line(record(2))), 'and cut off the file');
  journal.append(record(3));
  t.ok(journal.wantsSnapshot, 'past the bound a snapshot is due');
  journal.writeSnapshot({ revision: 3, objects: [{ resource: 'configmaps', object: record(3).object }] });
  t.equal(statSync(path.join(dir, 'wal.jsonl')).size, 0, 'the snapshot empties the log');
  journal.append(record(4, 'o3', 'delete'));
  journal.close();

  ({ journal, recovered } = Journal.open(dir, 300));
  t.equal(recovered.snapshot.revision, 3);
  t.same(recovered.snapshot.objects.map((o) => o.object.metadata.name), ['o3'], 'the snapshot holds the objects');
  t.same(recovered.records.map((r) => [r.rv, r.op]), [[4, 'delete']], 'and the log what came after');
  journal.close();
});
