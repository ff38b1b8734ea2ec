/**
 * `history reindex` on an archive written before the history index existed:
 * every readable job record is indexed (and so listed), a broken one is
 * named and makes the exit code 1, running it again changes nothing.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import pino from 'pino';
import { startTestArchive } from '../helpers/api-archive.js';
import { childEnv } from '../helpers/child-env.js';
import { HistoryIndex } from '../../lib/archive/history-index.js';
import { HistoryStore } from '../../lib/archive/history-store.js';
import type { HistoryEntry } from '../../lib/archive/history-layout.js';
import { reindexHistory } from '../../lib/archive/history-reindex.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const NS = 'legacy';

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(root, 'cmd/main.ts'), ...args], { cwd: root, env: childEnv(env), timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('history reindex indexes records written before the index', async (t) => {
  const archive = await startTestArchive(t, 'legacy-archive');
  const created = (i: number): string => new Date(Date.UTC(2025, 0, 1, i * 5)).toISOString();
  for (let i = 0; i < 6; i++) {
    const id = `00000000-0000-4000-8000-00000000000${i}`;
    await archive.putJob(
      NS,
      `pygeoapi-job-${id}`,
      { status: { jobID: id, type: 'process', status: i % 2 ? 'failed' : 'successful', created: created(i) }, processId: 'echo', archivedAt: created(i) },
      [{ pod: `pod-${i}`, container: 'main', text: `log ${i}\n` }],
      { legacy: true },
    );
  }
  await archive.put(`${NS}/pygeoapi-job-broken/job.json`, '{"status": {"jobID": "broken"');
  const store = new HistoryStore({ s3: archive.client, bucket: archive.bucket, prefix: '', namespace: NS });
  const listed = async (): Promise<HistoryEntry[]> => {
    const index = new HistoryIndex({ store, logger: pino({ level: 'silent' }), budgetEntries: 1000 });
    await index.start();
    const out: HistoryEntry[] = [];
    for await (const hour of index.entries()) out.push(...hour);
    return out;
  };
  t.same(await listed(), [], 'nothing listed before');

  const env = { ...archive.env, PYGEOAPI_K8S_MANAGER_NAMESPACE: NS };
  const first = await cli(['history', 'reindex'], env);
  t.equal(first.code, 1, 'exit 1: a record was skipped');
  t.match(first.stdout, 'namespace legacy: 6 of 7 job records indexed in 6 hour segments');
  t.match(first.stderr, `skipped ${NS}/pygeoapi-job-broken/job.json`);
  const after = await listed();
  t.same(after.map((e) => e.created), [5, 4, 3, 2, 1, 0].map(created), 'every job listed, newest first');
  t.same(after.map((e) => e.status), ['failed', 'successful', 'failed', 'successful', 'failed', 'successful']);

  // (Each CLI run costs a TypeScript start: the rest is checked in-process.)
  const again = await reindexHistory(store);
  t.match(again, { records: 7, indexed: 6, hours: 6 });
  t.same(await listed(), after, 'running it again changes nothing');
});

t.test('history needs its action and a configured bucket', async (t) => {
  const unconfigured = await cli(['history', 'reindex'], { PYGEOAPI_K8S_MANAGER_NAMESPACE: NS });
  t.equal(unconfigured.code, 2);
  t.match(unconfigured.stderr, 'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME');
});
