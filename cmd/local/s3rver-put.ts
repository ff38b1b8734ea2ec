/**
 * s3rver 3.7.1's filesystem store makes a key's folder, then opens a write
 * stream in it with no error handler. A DeleteObject in between removes the
 * folders it emptied (the API's compaction deletes an hour's pending history
 * copies while the controller writes the next one), the open fails with
 * ENOENT and the unhandled error ends s3rver: a chaos run's S3 crashed so.
 *
 * The narrowest fix, in the same way as s3rver-listing.ts: replace the
 * store's `putObject`. The bytes go to a file in the bucket's uploads folder
 * first (s3rver lists none of it), with every error handled; the file is then
 * renamed into the key's folder, made again if a delete removed it meanwhile.
 * A reader never sees a half-written object either.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const require = createRequire(import.meta.url);

interface PutInput {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, unknown>;
}

interface Store {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5: string): Promise<void>;
}

type PutObject = (this: Store, object: PutInput) => Promise<{ size: number; md5: string }>;

const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as { prototype: { putObject: PutObject; __putPatched?: true } };

/** A rename that lost its folder to a concurrent delete is tried again this many times. */
const RENAME_ATTEMPTS = 5;

const putObject: PutObject = async function (object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  const staging = this.getResourcePath(object.bucket, undefined, 'uploads');
  await mkdir(staging, { recursive: true });
  const temporary = path.join(staging, `put-${randomUUID()}`);
  const md5 = createHash('md5');
  let size = 0;
  try {
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content);
      size = object.content.length;
      await writeFile(temporary, object.content);
    } else {
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          md5.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      await pipeline(object.content, hashing, createWriteStream(temporary));
    }
    for (let attempt = 1; ; attempt++) {
      await mkdir(path.dirname(objectPath), { recursive: true });
      try {
        await rename(temporary, objectPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= RENAME_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

export function patchS3rverPut(): void {
  if (FilesystemStore.prototype.__putPatched) return;
  FilesystemStore.prototype.putObject = putObject;
  FilesystemStore.prototype.__putPatched = true;
}
