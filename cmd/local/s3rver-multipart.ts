/**
 * s3rver 3.7.1 completes a multipart upload by piping every part through a
 * JavaScript Transform that MD5-hashes the whole object into a new file
 * written in place (a reader may see it half-written), and answers the MD5
 * of the whole content as the ETag, which S3 never gives a multipart object:
 * a client that checks the ETag S3 derives from the parts (lib/s3) would have
 * to read every such object back. It also completes any list of parts, with
 * any ETags.
 *
 * The narrowest fix, in the same way as s3rver-listing.ts: replace the
 * filesystem store's `putObjectMultipart` (s3rver calls it on its store at
 * each completion). The object is assembled in the upload's own folder — the
 * first part's file renamed, the others appended with large reads — and
 * renamed over the key, so a reader never sees a half-written object. The
 * ETag is S3's: the MD5 of the parts' binary MD5s (s3rver kept each part's
 * MD5 when it stored it), "-" and the part count; no byte is hashed again.
 * Completion still copies every byte after the first part once: measured
 * side by side, that copy (the kernel's work) and not the MD5 is what a
 * large completion costs here, about as much CPU as s3rver's own.
 * As S3 does and s3rver did not, a part that is missing or whose ETag is not
 * the one stored answers InvalidPart, a part named twice InvalidPartOrder,
 * and an upload already completed or aborted NoSuchUpload.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

interface CompletedPart {
  number: number;
  etag: string;
}

interface Store {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5: string): Promise<void>;
}

type PutObjectMultipart = (this: Store, bucket: string, uploadId: string, parts: CompletedPart[]) => Promise<{ md5: string; size: number }>;

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as { prototype: { putObjectMultipart: PutObjectMultipart; __multipartPatched?: true } };
const S3Error = require('s3rver/lib/models/error.js') as S3ErrorClass;

/** Read size for appending parts: few system calls, one buffer per completion in flight. */
const COPY_CHUNK_BYTES = 8 * 1024 * 1024;

/** S3's ETag of a multipart object: MD5 of the concatenated binary part MD5s, "-", the part count. */
export function multipartObjectEtag(partMd5s: string[]): string {
  const ofParts = createHash('md5').update(Buffer.concat(partMd5s.map((md5) => Buffer.from(md5, 'hex')))).digest('hex');
  return `${ofParts}-${partMd5s.length}`;
}

function invalidPart(part: CompletedPart): Error {
  return new S3Error('InvalidPart', 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.', {
    PartNumber: String(part.number),
    ETag: part.etag,
  });
}

/** Appends the file at `source` to the open file `target`, returns the bytes appended. */
async function append(target: Awaited<ReturnType<typeof open>>, source: string, buffer: Buffer, at: number): Promise<number> {
  const input = await open(source, 'r');
  try {
    let copied = 0;
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return copied;
      let written = 0;
      while (written < bytesRead) written += (await target.write(buffer, written, bytesRead - written, at + copied + written)).bytesWritten;
      copied += bytesRead;
    }
  } finally {
    await input.close();
  }
}

const putObjectMultipart: PutObjectMultipart = async function (this: Store, bucket, uploadId, parts) {
  const uploadDir = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const key = await readFile(path.join(uploadDir, 'key'), 'utf8').catch(() => undefined);
  // As S3 answers an upload completed or aborted before (s3rver answered InternalError).
  if (key === undefined) throw new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId });
  const metadata = JSON.parse(await readFile(path.join(uploadDir, 'metadata'), 'utf8')) as Record<string, unknown>;
  // s3rver ordered the parts by number; so does this. A part named twice is S3's InvalidPartOrder.
  const ordered = [...parts].sort((a, b) => a.number - b.number);
  if (ordered.length === 0 || ordered.some((part, i) => i > 0 && part.number === ordered[i - 1]!.number)) {
    throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  }
  const md5s: string[] = [];
  for (const part of ordered) {
    const stored = await readFile(path.join(uploadDir, `${part.number}.md5`), 'utf8').catch(() => undefined);
    if (stored === undefined || stored !== part.etag) throw invalidPart(part);
    md5s.push(stored);
  }
  const etag = multipartObjectEtag(md5s);
  const assembled = path.join(uploadDir, 'assembled');
  const firstPart = path.join(uploadDir, String(ordered[0]!.number));
  await rename(firstPart, assembled);
  const target = await open(assembled, 'r+');
  const firstSize = (await target.stat()).size;
  let size = firstSize;
  try {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    for (const part of ordered.slice(1)) size += await append(target, path.join(uploadDir, String(part.number)), buffer, size);
  } catch (error) {
    // The upload stays as it was, to be completed again or aborted.
    await target.truncate(firstSize);
    await target.close();
    await rename(assembled, firstPart);
    throw error;
  }
  await target.close();
  const objectPath = this.getResourcePath(bucket, key, 'object');
  await mkdir(path.dirname(objectPath), { recursive: true });
  // The ETag first: s3rver computes (and stores) the whole MD5 of an object found without one.
  await this.putMetadata(bucket, key, metadata, etag);
  await rename(assembled, objectPath);
  await rm(uploadDir, { recursive: true, force: true });
  return { md5: etag, size };
};

/** Installs S3's completion on s3rver's filesystem store (idempotent). */
export function patchS3rverMultipart(): void {
  if (FilesystemStore.prototype.__multipartPatched) return;
  FilesystemStore.prototype.putObjectMultipart = putObjectMultipart;
  FilesystemStore.prototype.__multipartPatched = true;
}
