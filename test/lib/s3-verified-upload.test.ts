/**
 * uploadWhole (and the verified multipart writer under it): bytes in S3 are
 * proven equal to the bytes sent (part MD5s, the multipart ETag, size,
 * SHA-256), against s3rver and against an S3 that answers wrongly; over HTTPS
 * bodies go with their Content-MD5 as UNSIGNED-PAYLOAD, over HTTP signed with
 * their SHA-256.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { ArchiveVerificationError, etagVerdict, multipartEtag } from '../../lib/s3/verified-upload.js';
import { uploadWhole } from '../../lib/s3/whole-upload.js';
import { bufferBody, fileRangeBody, type PartBody } from '../../lib/s3/part-body.js';
import { VerifiedMultipartWriter } from '../../lib/s3/multipart-writer.js';
import { BUCKET, startTestS3 } from '../controller/helpers/s3.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The content's ranges, each read in uneven chunks (so hashing goes across them). */
function body(bytes: Buffer): { bytes: number; range(start: number, length: number): PartBody } {
  const range = (start: number, length: number): PartBody => {
    const slice = bytes.subarray(start, start + length);
    const chunks: Buffer[] = [];
    for (let i = 0; i < slice.length; i += 700_001) chunks.push(slice.subarray(i, i + 700_001));
    return {
      length,
      stream: () => Readable.from(chunks, { objectMode: false }),
      async *chunks() {
        yield* chunks;
      },
    };
  };
  return { bytes: bytes.length, range };
}

t.test('against s3rver', async (t) => {
  const s3 = await startTestS3(t);
  const upload = (key: string, bytes: Buffer) =>
    uploadWhole({ client: s3.client, bucket: BUCKET, key, ...body(bytes), contentType: 'text/plain', partSizeBytes: 5 * MiB, queueSize: 2, signal: new AbortController().signal });

  for (const size of [0, 1000, 5 * MiB, 11 * MiB + 3]) {
    const bytes = randomBytes(size);
    const outcome = await upload(`k-${size}`, bytes);
    t.equal(outcome.bytes, size, `${size}: size`);
    t.equal(outcome.sha256, sha256(bytes), `${size}: SHA-256 of the content`);
    t.ok((await s3.get(`k-${size}`))!.equals(bytes), `${size}: stored byte for byte`);
  }
  t.equal(await s3.storedParts(''), 0, 'no upload left unfinished');
});

t.test('multipartEtag: the S3 form', async (t) => {
  const parts = [Buffer.from('a'), Buffer.from('b')].map((b) => createHash('md5').update(b).digest());
  t.equal(multipartEtag(parts), `${md5(Buffer.concat(parts))}-2`);
});

t.test('etagVerdict', async (t) => {
  const plain = md5(Buffer.from('ab'));
  const parts = `${'a'.repeat(32)}-2`;
  const cases: Array<[string, string, string, string]> = [
    [plain, plain, 'sent', 'a PUT: its MD5'],
    ['0'.repeat(32), plain, 'other', 'a PUT: another MD5'],
    [parts, parts, 'sent', 'multipart: the S3 form'],
    [`${'b'.repeat(32)}-2`, parts, 'other', 'multipart: other parts'],
    [`${'a'.repeat(32)}-3`, parts, 'other', 'multipart: another part count'],
    [plain, parts, 'read back', 'multipart: a whole-content MD5 (some S3 implementations)'],
    ['kms-opaque', parts, 'read back', 'no MD5 (encrypted)'],
    ['kms-opaque', plain, 'read back', 'a PUT, no MD5 (encrypted)'],
  ];
  for (const [etag, expected, verdict, what] of cases) t.equal(etagVerdict(etag, expected), verdict, what);
});

t.test('over HTTPS, bodies go as UNSIGNED-PAYLOAD with their Content-MD5; over HTTP and without a body, signed as before', async (t) => {
  /** A client that records each signed request instead of sending it (the answer fails it, which is all this needs). */
  const recording = (endpoint: string) => {
    const seen: Array<{ method: string; query: string; sha: string | undefined; md5: string | undefined }> = [];
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      () => async (args) => {
        const request = args.request as { method: string; query: Record<string, unknown>; headers: Record<string, string> };
        seen.push({ method: request.method, query: Object.keys(request.query).sort().join(','), sha: request.headers['x-amz-content-sha256'], md5: request.headers['content-md5'] });
        throw new Error('recorded');
      },
      { step: 'finalizeRequest', priority: 'low', name: 'record' },
    );
    t.teardown(() => client.destroy());
    return { client, seen };
  };
  const options = { bucket: 'b', key: 'k', contentType: 'text/plain', partSizeBytes: 5 * MiB, queueSize: 1, signal: new AbortController().signal };
  // A multipart upload: its creation answered here, so its parts reach the recorder.
  const multipart = (client: S3Client): S3Client =>
    ({
      send: async (command: { constructor: { name: string } }, sendOptions: unknown) =>
        command.constructor.name === 'CreateMultipartUploadCommand' ? { UploadId: 'u1' } : client.send(command as never, sendOptions as never),
    }) as unknown as S3Client;

  const https = recording('https://s3.example');
  await uploadWhole({ ...options, client: https.client, ...body(Buffer.from('small')) }).catch(() => undefined);
  t.match(https.seen.shift(), { method: 'PUT', sha: 'UNSIGNED-PAYLOAD', md5: createHash('md5').update('small').digest('base64') }, 'a PUT');
  https.seen.length = 0;
  await uploadWhole({ ...options, client: multipart(https.client), ...body(randomBytes(6 * MiB)) }).catch(() => undefined);
  const part = https.seen.find((r) => r.query.includes('partNumber'));
  t.equal(part?.sha, 'UNSIGNED-PAYLOAD', 'a part');
  t.ok(part?.md5, 'with its Content-MD5');
  t.match(https.seen.find((r) => r.method === 'DELETE')?.sha, /^[0-9a-f]{64}$/, 'a request without a body is signed as before');

  const http = recording('http://127.0.0.1:9');
  const sixMiB = randomBytes(6 * MiB);
  await uploadWhole({ ...options, client: multipart(http.client), ...body(sixMiB) }).catch(() => undefined);
  t.equal(http.seen.find((r) => r.query.includes('partNumber'))?.sha, sha256(sixMiB.subarray(0, 5 * MiB)), 'over HTTP a part is signed with its SHA-256');
  http.seen.length = 0;
  await uploadWhole({ ...options, client: http.client, ...body(Buffer.from('small')) }).catch(() => undefined);
  t.equal(http.seen.shift()?.sha, sha256(Buffer.from('small')), 'and a PUT');
});

/** An S3 that stores nothing and answers as scripted. */
function fakeS3(answers: { partEtag?: (md5: string) => string; complete?: () => unknown; head?: () => unknown; get?: () => unknown }) {
  const calls: string[] = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: { ContentMD5?: string } }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push(name);
      switch (name) {
        case 'CreateMultipartUpload':
          return { UploadId: 'u1' };
        case 'UploadPart': {
          const sent = Buffer.from(command.input.ContentMD5!, 'base64').toString('hex');
          return { ETag: `"${answers.partEtag ? answers.partEtag(sent) : sent}"` };
        }
        case 'CompleteMultipartUpload':
          return answers.complete!();
        case 'HeadObject':
          return answers.head!();
        case 'GetObject':
          return answers.get!();
        default:
          return {};
      }
    },
  };
  return { client: client as unknown as S3Client, calls };
}

t.test('wrong answers are caught', async (t) => {
  const bytes = randomBytes(6 * MiB);
  const run = (client: S3Client) =>
    uploadWhole({ client, bucket: 'b', key: 'k', ...body(bytes), contentType: 'text/plain', partSizeBytes: 5 * MiB, queueSize: 2, signal: new AbortController().signal });
  const parts = [bytes.subarray(0, 5 * MiB), bytes.subarray(5 * MiB)].map((p) => createHash('md5').update(p).digest());
  const etag = multipartEtag(parts);

  const changedPart = fakeS3({ partEtag: () => 'f'.repeat(32) });
  await t.rejects(run(changedPart.client), ArchiveVerificationError, 'a part stored with another MD5');
  t.ok(changedPart.calls.includes('AbortMultipartUpload'), 'the upload is aborted, its parts not left behind');

  const lostAnswer = fakeS3({
    complete: () => Promise.reject(Object.assign(new Error('The specified upload does not exist'), { name: 'NoSuchUpload' })),
    head: () => ({ ContentLength: bytes.length, ETag: `"${etag}"` }),
  });
  t.equal((await run(lostAnswer.client)).etag, etag, 'a completion whose answer was lost is settled by the stored object');

  const otherObject = fakeS3({ complete: () => ({ ETag: `"${etag}"` }), head: () => ({ ContentLength: bytes.length, ETag: `"${'0'.repeat(32)}-2"` }) });
  await t.rejects(run(otherObject.client), { name: 'ArchiveVerificationError', message: /not what was uploaded/ }, 'the key holds another object (another writer)');

  const shorter = fakeS3({ complete: () => ({ ETag: `"${etag}"` }), head: () => ({ ContentLength: 5, ETag: `"${etag}"` }) });
  await t.rejects(run(shorter.client), { message: /holds 5 bytes/ });

  const encrypted = (stored: Buffer) =>
    fakeS3({ complete: () => ({ ETag: '"kms-opaque"' }), head: () => ({ ContentLength: bytes.length, ETag: '"kms-opaque"' }), get: () => ({ Body: Readable.from([stored]) }) });
  t.equal((await run(encrypted(bytes).client)).etag, 'kms-opaque', 'an ETag that is no MD5: read back and compared by SHA-256');
  const flipped = Buffer.from(bytes);
  flipped[0] = flipped[0]! ^ 1;
  await t.rejects(run(encrypted(flipped).client), { message: /reads back with SHA-256/ });

  const wholeMd5 = (stored: Buffer) =>
    fakeS3({ complete: () => ({ ETag: `"${md5(stored)}"` }), head: () => ({ ContentLength: bytes.length, ETag: `"${md5(stored)}"` }), get: () => ({ Body: Readable.from([stored]) }) });
  const asWhole = wholeMd5(bytes);
  t.equal((await run(asWhole.client)).etag, md5(bytes), 'an S3 giving the whole content\'s MD5: read back and compared by SHA-256');
  t.ok(asWhole.calls.includes('GetObject'), 'it was read back');
  await t.rejects(run(wholeMd5(flipped).client), { message: /reads back with SHA-256/ }, 'and other bytes are caught');
});

t.test('multipart writer: parts are taken in only in the order they were prepared, the whole hashed once', async (t) => {
  const { client } = fakeS3({});
  const writer = new VerifiedMultipartWriter({ client, bucket: 'b', key: 'k', contentType: 'text/plain' });
  const [a, b, c] = [randomBytes(100), randomBytes(200), randomBytes(300)];
  const signal = new AbortController().signal;
  const pa = await writer.prepare(bufferBody(a!));
  const pb = await writer.prepare(bufferBody(b!), pa);
  const stale = await writer.prepare(bufferBody(b!));
  t.equal(pb.partNumber, 2, 'numbered after the part it follows');
  t.throws(() => writer.accept(pb), /out of order/, 'not before the part it follows');
  await writer.sendPart(pa, signal);
  writer.accept(pa);
  t.throws(() => writer.accept(pa), /out of order/, 'not twice');
  t.throws(() => writer.accept(stale), /out of order/, 'not a part prepared as first while another went before it');
  // Numbered right, but chained from a part never taken in (its hash of the whole would be another's).
  const orphan = await writer.prepare(bufferBody(c!), stale);
  t.equal(orphan.partNumber, 2);
  t.throws(() => writer.accept(orphan), /out of order/, 'not a part that follows one never taken in');
  writer.accept(pb);
  const pc = await writer.prepare(bufferBody(c!));
  t.equal(pc.partNumber, 3, 'prepared after the parts taken in');
  writer.accept(pc);
  t.equal(writer.bytes, 600);
  t.equal(pc.wholeAfter.copy().digest('hex'), sha256(Buffer.concat([a!, b!, c!])), 'the whole SHA-256, chained part by part');
});

t.test('a part whose file is gone when it is sent: the send fails, nothing is thrown outside it', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'part-gone-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'spool.log');
  await writeFile(file, randomBytes(5 * MiB));
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => void uncaught.push(error);
  process.prependListener('uncaughtException', onUncaught);
  t.teardown(() => process.off('uncaughtException', onUncaught));

  // Through s3rver: the SDK pipes the body and fails the send with the read error.
  const s3 = await startTestS3(t);
  const writer = new VerifiedMultipartWriter({ client: s3.client, bucket: BUCKET, key: 'gone.log', contentType: 'text/plain' });
  const part = await writer.prepare(fileRangeBody(file, 0, 5 * MiB));
  await rm(file);
  await t.rejects(writer.sendPart(part, AbortSignal.timeout(20_000)), { code: 'ENOENT' }, 'the send fails with the read error');

  // A request that fails before its body is read (a refused connection, an abort): the body's stream is closed
  // while its file is still being opened, and that open's error must not end the process.
  const bodies: Readable[] = [];
  const refusing = new S3Client({
    region: 'us-east-1',
    // HTTPS: the part goes UNSIGNED-PAYLOAD, so nothing reads the file before the handler.
    endpoint: 'https://127.0.0.1:9',
    forcePathStyle: true,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        if (request.body instanceof Readable) bodies.push(request.body);
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
    },
  });
  t.teardown(() => refusing.destroy());
  const refused = new VerifiedMultipartWriter({ client: refusing, bucket: 'b', key: 'k', contentType: 'text/plain' });
  await refused.resume('upload-1', [], []);
  await t.rejects(refused.sendPart(part, AbortSignal.timeout(20_000)), /ECONNREFUSED/, 'the send fails as the connection did');
  t.equal(bodies.length, 1, 'the request had its stream body');
  await waitFor(() => bodies[0]!.closed, { what: 'the body stream to close' });
  t.same(uncaught, [], 'nothing thrown outside the sends');
});
