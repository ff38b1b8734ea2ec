/**
 * `npm start`'s embedded S3 (s3rver with its patches) in a folder of its own,
 * with an AWS SDK client as the manager makes them (path style, checksums
 * only when required); both go with the test.
 */
import type { Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3, type EmbeddedS3 } from '../../cmd/local/embedded-s3.js';

export async function embeddedS3WithClient(t: Test, bucket: string): Promise<{ s3: EmbeddedS3; client: S3Client; directory: string }> {
  const directory = await mkdtemp(path.join(tmpdir(), `embedded-s3-${bucket}-`));
  const s3 = await startEmbeddedS3({ directory, bucket });
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: EMBEDDED_S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  t.teardown(async () => {
    client.destroy();
    await s3.stop();
    await rm(directory, { recursive: true, force: true });
  });
  return { s3, client, directory };
}
