/**
 * One instance per state folder: `local` writes the kubeconfig, the embedded
 * S3 data and certificates there, so a second instance on the same folder
 * would overwrite what the first one's users rely on. The lock is a file
 * holding the owner's pid, created exclusively; a lock whose process is gone
 * (a crash, kill -9) is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { StartupError } from './command.js';

export const LOCK_FILE = 'k8s-job-manager.lock';

export type LockVerdict = { kind: 'held'; pid: number } | { kind: 'stale'; reason: string };

/** What an existing lock file means. Pure: `alive` says whether a pid is a running process. */
export function lockVerdict(content: string, alive: (pid: number) => boolean, ownPid: number): LockVerdict {
  const text = content.trim();
  if (!/^\d+$/.test(text)) return { kind: 'stale', reason: `unreadable lock content ${JSON.stringify(text.slice(0, 20))}` };
  const pid = Number(text);
  if (pid === ownPid) return { kind: 'stale', reason: 'our own pid (left by an earlier run in this process)' };
  return alive(pid) ? { kind: 'held', pid } : { kind: 'stale', reason: `process ${pid} is not running` };
}

/** Whether a process exists: signal 0 checks without sending; EPERM means it exists under another user. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StateLock {
  file: string;
  release(): Promise<void>;
}

async function create(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'wx');
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

export async function lockStateDir(stateDir: string): Promise<StateLock> {
  const file = path.join(stateDir, LOCK_FILE);
  // Two rounds: the second after removing a stale lock; losing that race to another taker reports the winner.
  for (let round = 0; round < 2; round++) {
    if (await create(file)) {
      return { file, release: () => unlink(file).catch(() => undefined) };
    }
    const content = await readFile(file, 'utf8').catch(() => '');
    const verdict = lockVerdict(content, processAlive, process.pid);
    if (verdict.kind === 'held') {
      throw new StartupError(`state folder ${stateDir} is in use by process ${verdict.pid} (lock ${file}); stop that one, or give this one another --state-dir`);
    }
    await unlink(file).catch(() => undefined);
  }
  throw new StartupError(`could not lock the state folder ${stateDir} (${file}): another instance is starting on it`);
}
