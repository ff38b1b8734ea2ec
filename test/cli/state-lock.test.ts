/** The state-folder lock: what a lock file means (table), and the lock on real files. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCK_FILE, lockStateDir, lockVerdict, processAlive, type LockVerdict } from '../../cmd/state-lock.js';

t.test('lockVerdict', async (t) => {
  const alive = (pid: number) => pid === 100;
  const cases: Array<[string, string, LockVerdict['kind']]> = [
    ['a live pid holds it', '100\n', 'held'],
    ['a dead pid is stale', '200\n', 'stale'],
    ['our own pid is stale', '42', 'stale'],
    ['empty is stale', '', 'stale'],
    ['garbage is stale', 'hello', 'stale'],
    ['a negative number is stale', '-1', 'stale'],
  ];
  for (const [what, content, kind] of cases) t.equal(lockVerdict(content, alive, 42).kind, kind, what);
  t.same(lockVerdict('100', alive, 42), { kind: 'held', pid: 100 });
});

/** A pid that surely ran and is surely gone: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(child.stdout);
  return processAlive(pid) ? deadPid() : pid;
}

t.test('lockStateDir', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'state-lock-'));
  const lock = await lockStateDir(dir);
  t.equal(readFileSync(lock.file, 'utf8').trim(), String(process.pid), 'the lock holds our pid');
  await lock.release();
  t.notOk(existsSync(lock.file), 'release removes it');

  writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`);
  await t.rejects(lockStateDir(dir), new RegExp(`in use by process ${process.ppid}`), 'a live holder is named');
  t.equal(readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim(), String(process.ppid), 'and its lock stays');

  writeFileSync(path.join(dir, LOCK_FILE), `${deadPid()}\n`);
  const taken = await lockStateDir(dir);
  t.equal(readFileSync(taken.file, 'utf8').trim(), String(process.pid), 'a dead holder\'s lock is taken over');
  await taken.release();
});
