/**
 * The store's durable form in a state folder, as etcd keeps a cluster's state
 * on disk: a write-ahead log and a snapshot.
 *
 * - Every write is appended to `wal.jsonl` (one JSON record a line) and
 *   fdatasync'ed before the store acknowledges it, so what a client was told
 *   is stored survives a crash.
 * - Once the log exceeds `compactionBytes`, the current objects are written to
 *   `snapshot.json` (a temporary file, fsync, rename, fsync of the folder:
 *   the snapshot is either the old or the new one, never half) and the log is
 *   truncated. Disk use is therefore bounded by the live objects plus
 *   `compactionBytes` (and one record).
 * - Recovery loads the snapshot, then replays the log's records newer than
 *   it. A record cut short by a crash (the last line without its newline or
 *   not parseable) is dropped and the log truncated there; a record
 *   already in the snapshot (a crash between rename and truncation) is
 *   skipped. The replayed records become the watch history again, so watches
 *   resume across a restart from any version newer than the snapshot, and get
 *   410 Gone for older ones, as after an etcd compaction.
 */
import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { isRecord, type KubeObject } from './types.js';

export interface JournalRecord {
  /** The write's resourceVersion. */
  rv: number;
  op: 'put' | 'delete';
  /** resourceKey of the type: `jobs.batch`, `pods`. */
  resource: string;
  object: KubeObject;
}

export interface Snapshot {
  revision: number;
  objects: Array<{ resource: string; object: KubeObject }>;
}

export interface Recovered {
  snapshot: Snapshot;
  /** Log records newer than the snapshot, in order. */
  records: JournalRecord[];
}

const SNAPSHOT = 'snapshot.json';
const LOG = 'wal.jsonl';
export const DEFAULT_COMPACTION_BYTES = 16 * 1024 * 1024;

function isJournalRecord(value: unknown): value is JournalRecord {
  return (
    isRecord(value) &&
    typeof value.rv === 'number' &&
    (value.op === 'put' || value.op === 'delete') &&
    typeof value.resource === 'string' &&
    isRecord(value.object) &&
    isRecord(value.object.metadata)
  );
}

/**
 * Splits a log's bytes into records. Pure: returns the records after
 * `afterRevision` and the byte length of the valid prefix (the rest is a torn
 * write to cut off).
 */
export function parseLog(text: string, afterRevision: number): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let offset = 0;
  let last = afterRevision;
  for (;;) {
    const end = text.indexOf('\n', offset);
    if (end < 0) break;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.slice(offset, end));
    } catch {
      break;
    }
    if (!isJournalRecord(parsed)) break;
    if (parsed.rv > last) {
      records.push(parsed);
      last = parsed.rv;
    }
    offset = end + 1;
  }
  return { records, validBytes: Buffer.byteLength(text.slice(0, offset)) };
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class Journal {
  private fd: number | undefined;
  private logBytes = 0;

  private constructor(
    readonly dir: string,
    private readonly compactionBytes: number,
  ) {}

  /** Opens (creating) the journal in `dir` and reads back what it holds. */
  static open(dir: string, compactionBytes = DEFAULT_COMPACTION_BYTES): { journal: Journal; recovered: Recovered } {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const journal = new Journal(dir, compactionBytes);
    const snapshotFile = path.join(dir, SNAPSHOT);
    const snapshot: Snapshot = existsSync(snapshotFile) ? (JSON.parse(readFileSync(snapshotFile, 'utf8')) as Snapshot) : { revision: 0, objects: [] };
    const logFile = path.join(dir, LOG);
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    const { records, validBytes } = parseLog(text, snapshot.revision);
    journal.fd = openSync(logFile, 'a+', 0o600);
    if (validBytes < Buffer.byteLength(text)) {
      ftruncateSync(journal.fd, validBytes);
      fdatasyncSync(journal.fd);
    }
    journal.logBytes = validBytes;
    return { journal, recovered: { snapshot, records } };
  }

  /** Appends a record durably (written and fdatasync'ed) before returning. */
  append(record: JournalRecord): void {
    if (this.fd === undefined) throw new Error('the store journal is closed');
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    writeSync(this.fd, line);
    fdatasyncSync(this.fd);
    this.logBytes += line.length;
  }

  /** Whether the log has grown past its bound and a snapshot should replace it. */
  get wantsSnapshot(): boolean {
    return this.logBytes > this.compactionBytes;
  }

  /** Replaces the snapshot atomically with `snapshot`, then empties the log. */
  writeSnapshot(snapshot: Snapshot): void {
    if (this.fd === undefined) throw new Error('the store journal is closed');
    const temporary = path.join(this.dir, `${SNAPSHOT}.tmp`);
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(snapshot));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path.join(this.dir, SNAPSHOT));
    syncDirectory(this.dir);
    ftruncateSync(this.fd, 0);
    fdatasyncSync(this.fd);
    this.logBytes = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
