/**
 * The capture's progress, journaled next to the spool, so that a controller
 * restarted in the same pod (the spool is on an emptyDir, which outlives the
 * container) resumes where it stopped instead of reading every log again:
 * per container instance, the bytes committed to the spool and the timestamp
 * of the last whole line (where the next read resumes, with `sinceTime`),
 * how the capture stands, and the streamed upload (its id and the MD5 of
 * each part S3 accepted). The running SHA-256 is not journaled: it is
 * recomputed from the spool, which holds every byte uploaded.
 *
 * One small JSON file per instance (`<container>.<restartCount>.journal.json`),
 * replaced whole (written aside, then renamed), so a kill leaves the old one
 * or the new one, never half of one. It is only ever behind the spool, never
 * ahead: the spool's bytes are written before the journal names them, and a
 * resume truncates the spool to what the journal says.
 */
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface UploadJournal {
  key: string;
  uploadId: string;
  /** Hex MD5 of each part S3 accepted, in order. */
  partMd5s: string[];
  /** Spool bytes those parts hold. */
  bytes: number;
}

export interface InstanceJournal {
  container: string;
  restartCount: number;
  committed: number;
  lastTimestamp?: string;
  /** lastTimestamp in nanoseconds since the epoch (a decimal string). */
  lastNanos?: string;
  state: 'capturing' | 'complete' | 'incomplete';
  incompleteReason?: string;
  upload?: UploadJournal;
}

export function journalFile(spoolDir: string, container: string, restartCount: number): string {
  return path.join(spoolDir, `${container}.${restartCount}.journal.json`);
}

export async function readJournal(spoolDir: string, container: string, restartCount: number): Promise<InstanceJournal | undefined> {
  try {
    const parsed = JSON.parse(await readFile(journalFile(spoolDir, container, restartCount), 'utf8')) as InstanceJournal;
    return parsed.container === container && parsed.restartCount === restartCount && Number.isInteger(parsed.committed) ? parsed : undefined;
  } catch {
    return undefined; // none, or unreadable: the instance is read again from the kubelet
  }
}

/** Every journal in a spool directory (for the uploads to abort when its pod is gone). */
export async function readJournals(spoolDir: string): Promise<InstanceJournal[]> {
  const names = await readdir(spoolDir).catch(() => [] as string[]);
  const journals: InstanceJournal[] = [];
  for (const name of names) {
    const match = /^(.+)\.(\d+)\.journal\.json$/.exec(name);
    if (!match) continue;
    const journal = await readJournal(spoolDir, match[1]!, Number(match[2]));
    if (journal) journals.push(journal);
  }
  return journals;
}

/**
 * Writes one instance's journal, coalescing: at most one write in flight and
 * one waiting (the newest state), and no more often than every `intervalMs`.
 */
export class JournalWriter {
  /** The newest state, taken when written (so a burst of changes costs one snapshot). */
  private pending: (() => InstanceJournal) | undefined;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = 0;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly intervalMs = 250,
  ) {}

  /** Records the state; written soon. */
  save(state: () => InstanceJournal): void {
    if (this.closed) return;
    this.pending = state;
    if (this.writing || this.timer) return;
    const wait = this.lastWrite + this.intervalMs - Date.now();
    if (wait > 0) this.timer = setTimeout(() => this.kick(), wait);
    else this.kick();
  }

  private kick(): void {
    this.timer = undefined;
    const state = this.pending;
    if (!state || this.closed) return;
    this.pending = undefined;
    this.lastWrite = Date.now();
    this.writing = this.write(state())
      .catch(() => undefined) // a journal that could not be written only costs a longer re-read after a restart
      .finally(() => {
        this.writing = undefined;
        if (this.pending) this.save(this.pending);
      });
  }

  private async write(state: InstanceJournal): Promise<void> {
    const aside = `${this.file}.new`;
    await writeFile(aside, JSON.stringify(state));
    await rename(aside, this.file);
  }

  /** No more writes after what was recorded last, which is written out unless the file goes too (`remove`). */
  async close(remove = false): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    const last = this.pending;
    this.pending = undefined;
    await this.writing;
    if (remove) await rm(this.file, { force: true });
    else if (last) await this.write(last()).catch(() => undefined);
  }
}
