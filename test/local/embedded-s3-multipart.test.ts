/**
 * The embedded S3 completes multipart uploads as S3 does: the object is the
 * parts' bytes in part order, its ETag is the MD5 of the part MD5s with the
 * part count (in the completion's answer, HEAD and GET alike), a wrong or
 * missing part is InvalidPart, a part named twice InvalidPartOrder, and a
 * second completion NoSuchUpload; nothing of the upload is left behind.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { multipartObjectEtag } from '../../cmd/local/s3rver-multipart.js';
import { embeddedS3WithClient } from '../helpers/embedded-s3-client.js';

const BUCKET = 'multipart';
const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

t.test('the S3 form of a multipart ETag', async (t) => {
  const parts = [Buffer.from('a'), Buffer.from('b')];
  const expected = `${createHash('md5').update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()))).digest('hex')}-2`;
  t.equal(multipartObjectEtag(parts.map(md5)), expected);
  t.not(multipartObjectEtag(parts.map(md5)), multipartObjectEtag(parts.reverse().map(md5)), 'part order counts');
});

t.test('completions through the AWS SDK', async (t) => {
  const { client, directory } = await embeddedS3WithClient(t, BUCKET);

  /** Starts an upload of `parts` (uploaded last first, to show order comes from the numbers); the id and the parts' ETags. */
  const upload = async (key: string, parts: Buffer[]) => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'text/plain' }));
    const etags: string[] = [];
    for (let i = parts.length - 1; i >= 0; i--) {
      const answer = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: i + 1, Body: parts[i] }));
      etags[i] = answer.ETag!;
    }
    return { UploadId: UploadId!, etags };
  };
  const complete = (key: string, UploadId: string, parts: Array<{ ETag: string; PartNumber: number }>) =>
    client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  const errorName = (promise: Promise<unknown>) => promise.then(() => 'no error', (error: { name?: string }) => error.name);

  // Three parts, the last short; larger than one copy chunk, so appending takes several reads.
  const parts = [randomBytes(9 * 1024 * 1024), randomBytes(5 * 1024 * 1024), randomBytes(1234)];
  const whole = Buffer.concat(parts);
  const expectedEtag = `"${multipartObjectEtag(parts.map(md5))}"`;
  // An object already under the key is replaced whole.
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'logs/a.log', Body: 'older, shorter' }));
  const { UploadId, etags } = await upload('logs/a.log', parts);
  t.same(etags, parts.map((p) => `"${md5(p)}"`), 'each part answers its MD5');
  const answer = await complete('logs/a.log', UploadId, etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })));
  t.equal(answer.ETag, expectedEtag, 'the completion answers the MD5 of the part MD5s, -3');
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'logs/a.log' }));
  t.equal(head.ETag, expectedEtag, 'HEAD shows the same ETag');
  t.equal(head.ContentLength, whole.length);
  t.equal(head.ContentType, 'text/plain', 'the metadata given at creation is kept');
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'logs/a.log' }));
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(whole), 'the bytes are the parts in part order');
  const ranged = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'logs/a.log', Range: `bytes=${parts[0]!.length - 2}-${parts[0]!.length + 1}` }));
  t.ok(Buffer.from(await ranged.Body!.transformToByteArray()).equals(whole.subarray(parts[0]!.length - 2, parts[0]!.length + 2)), 'a range across a part boundary');
  t.equal(await errorName(complete('logs/a.log', UploadId, etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })))), 'NoSuchUpload', 'a second completion');

  const single = await upload('logs/one.log', [Buffer.from('just one part\n')]);
  t.equal((await complete('logs/one.log', single.UploadId, [{ ETag: single.etags[0]!, PartNumber: 1 }])).ETag, `"${multipartObjectEtag([md5(Buffer.from('just one part\n'))])}"`, 'one part: -1');

  const bad = await upload('logs/bad.log', [randomBytes(5 * 1024 * 1024), Buffer.from('tail')]);
  t.equal(await errorName(complete('logs/bad.log', bad.UploadId, [{ ETag: bad.etags[0]!, PartNumber: 1 }, { ETag: `"${'0'.repeat(32)}"`, PartNumber: 2 }])), 'InvalidPart', 'an ETag that is not the part’s');
  t.equal(await errorName(complete('logs/bad.log', bad.UploadId, [{ ETag: bad.etags[0]!, PartNumber: 1 }, { ETag: bad.etags[1]!, PartNumber: 3 }])), 'InvalidPart', 'a part never uploaded');
  t.equal(await errorName(complete('logs/bad.log', bad.UploadId, [{ ETag: bad.etags[0]!, PartNumber: 1 }, { ETag: bad.etags[0]!, PartNumber: 1 }])), 'InvalidPartOrder', 'a part named twice');
  t.equal(await errorName(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'logs/bad.log' }))), 'NotFound', 'refused completions store nothing');
  const fixed = await complete('logs/bad.log', bad.UploadId, bad.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })));
  t.match(fixed.ETag, /-2"$/, 'the upload can still be completed after refusals');

  const left = await readdir(path.join(directory, BUCKET), { recursive: true });
  t.same(left.filter((f) => f.includes('_uploads/') || f.includes('assembled')), [], 'no upload folder or assembled file is left');
});
