/**
 * The history index's S3 edge: listing hours, reading and writing segments,
 * entries and pending copies. Thin; decisions live in history-layout.ts and
 * history-index.ts.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readText } from './reader.js';
import {
  historyRoot,
  parseEntry,
  parseEntryKey,
  parseSegment,
  parseSegmentKey,
  segmentDocument,
  segmentKey,
  type HistoryEntry,
} from './history-layout.js';

export interface HistoryLocation {
  s3: S3Client;
  bucket: string;
  prefix: string;
  namespace: string;
}

/** An entry or pending object as listed: where, which job, which version. */
export interface StoredEntry {
  key: string;
  hour: string;
  jobId: string;
  etag: string;
}

export class HistoryStore {
  private readonly root: string;

  constructor(readonly at: HistoryLocation) {
    this.root = historyRoot(at.prefix, at.namespace);
  }

  /** Every key below `prefix` with its ETag, page by page (1 000 keys per request). */
  async *objects(prefix: string, startAfter?: string): AsyncGenerator<{ key: string; etag: string }> {
    let token: string | undefined;
    do {
      const page = await this.at.s3.send(
        new ListObjectsV2Command({
          Bucket: this.at.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key) yield { key: object.Key, etag: object.ETag ?? '' };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Hours that have a segment, in key order (oldest first). */
  async segmentHours(): Promise<string[]> {
    const folder = `${this.root}segments/`;
    const hours: string[] = [];
    for await (const { key } of this.objects(folder)) {
      const hour = parseSegmentKey(folder, key);
      if (hour) hours.push(hour);
    }
    return hours;
  }

  /** Pending copies not yet folded into a segment, oldest hour first. */
  async pending(): Promise<StoredEntry[]> {
    return this.listEntries(`${this.root}pending/`);
  }

  /** Entry keys of one hour (the source a segment is rebuilt from). */
  async entriesOf(hour: string): Promise<StoredEntry[]> {
    return this.listEntries(`${this.root}entries/`, `${hour}/`);
  }

  private async listEntries(folder: string, below = ''): Promise<StoredEntry[]> {
    const found: StoredEntry[] = [];
    for await (const { key, etag } of this.objects(folder + below)) {
      const parsed = parseEntryKey(folder, key);
      if (parsed) found.push({ key, etag, ...parsed });
    }
    return found;
  }

  /** A stored entry, or undefined when it is missing or not an entry. */
  async entry(key: string): Promise<HistoryEntry | undefined> {
    const text = await this.text(key);
    if (text === undefined) return undefined;
    try {
      return parseEntry(JSON.parse(text));
    } catch {
      return undefined;
    }
  }

  /** A segment's entries, newest first; undefined when there is none; CorruptSegmentError when unreadable. */
  async segment(hour: string): Promise<HistoryEntry[] | undefined> {
    const text = await this.text(segmentKey(this.at.prefix, this.at.namespace, hour));
    return text === undefined ? undefined : parseSegment(text, hour);
  }

  async putSegment(hour: string, entries: Iterable<HistoryEntry>): Promise<void> {
    await this.at.s3.send(
      new PutObjectCommand({
        Bucket: this.at.bucket,
        Key: segmentKey(this.at.prefix, this.at.namespace, hour),
        Body: JSON.stringify(segmentDocument(hour, entries)),
        ContentType: 'application/json',
      }),
    );
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.at.s3.send(new PutObjectCommand({ Bucket: this.at.bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }));
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.at.s3.send(new DeleteObjectsCommand({ Bucket: this.at.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
  }

  text(key: string): Promise<string | undefined> {
    return readText(this.at, key);
  }
}
