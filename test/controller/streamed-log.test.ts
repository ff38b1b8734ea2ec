/**
 * Logs uploaded while they are written (streamed-log.ts) against s3rver:
 * whole parts go up as the spool grows, at the end only the last piece and
 * the completion remain; the object is verified byte for byte; failing parts
 * are sent again; a broken stream hands over to the whole upload; parts on
 * their way are bounded by the shared slots.
 */
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { PartSlots, StreamedLog } from '../../controller/streamed-log.js';
import { VerifiedMultipartWriter } from '../../lib/s3/multipart-writer.js';
import { BUCKET, startTestS3, testS3Client, type TestS3 } from './helpers/s3.js';
import { startS3FaultProxy } from '../chaos/s3-fault-proxy.js';
import { waitFor } from '../helpers/wait-for.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function spoolDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'streamed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function streamed(s3: TestS3, key: string, file: string, slots: PartSlots, signal: AbortSignal, client: S3Client = s3.client, concurrency = 2): StreamedLog {
  return new StreamedLog({
    writer: new VerifiedMultipartWriter({ client, bucket: BUCKET, key, contentType: 'text/plain' }),
    file,
    partSize: PART,
    slots,
    backoff: { baseMs: 5, maxMs: 20 },
    logger: pino({ level: 'silent' }),
    signal,
    concurrency,
  });
}

/** Parts of uploads still open (s3rver has no ListMultipartUploads). */
const openUploads = (s3: TestS3): Promise<number> => s3.storedParts('');

t.test('whole parts go up while the log grows; the end completes it', async (t) => {
  const s3 = await startTestS3(t);
  const file = path.join(await spoolDir(t), 'main.0.log');
  const content = randomBytes(3 * PART + 12345);
  const log = streamed(s3, 'logs/a.log', file, new PartSlots(2), new AbortController().signal);
  await writeFile(file, '');
  // The container writes in uneven pieces; the capture commits after each.
  let written = 0;
  for (const step of [MiB, 4 * MiB + 17, 6 * MiB, 4 * MiB, content.length]) {
    const end = Math.min(step + written, content.length);
    await appendFile(file, content.subarray(written, end));
    written = end;
    log.grew(written);
  }
  await waitFor(() => log.uploadedBytes === 3 * PART, { what: 'three whole parts uploaded before the end' });
  t.equal(await s3.storedParts('logs/a.log'), 3, 'the parts are in S3 before the end');
  t.same(await s3.keys('logs/'), [], 'nothing visible under the key before the completion');
  const outcome = await log.finish(content.length, new AbortController().signal);
  t.equal(outcome?.bytes, content.length);
  t.equal(outcome?.sha256, sha256(content), 'SHA-256 of the whole');
  t.ok((await s3.get('logs/a.log'))!.equals(content), 'stored byte for byte');
  t.equal(await openUploads(s3), 0, 'no upload left open');
  t.same(await log.finish(content.length, new AbortController().signal), outcome, 'finishing again answers the same');
});

t.test('a log shorter than a part is one verified PUT at the end', async (t) => {
  const s3 = await startTestS3(t);
  const file = path.join(await spoolDir(t), 'small.log');
  await writeFile(file, 'hello\nno newline');
  const log = streamed(s3, 'logs/small.log', file, new PartSlots(1), new AbortController().signal);
  log.grew(16);
  const outcome = await log.finish(16, new AbortController().signal);
  t.equal((await s3.get('logs/small.log'))?.toString(), 'hello\nno newline');
  t.equal(outcome?.sha256, sha256(Buffer.from('hello\nno newline')));
});

t.test('failing parts are sent again; the content stays exact', async (t) => {
  const s3 = await startTestS3(t);
  let failures = 3;
  const flaky = {
    send: (command: unknown, options: unknown) => {
      if (command instanceof UploadPartCommand && failures-- > 0) return Promise.reject(Object.assign(new Error('SlowDown'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }));
      return (s3.client.send as (c: unknown, o: unknown) => Promise<unknown>)(command, options);
    },
  } as unknown as S3Client;
  const file = path.join(await spoolDir(t), 'flaky.log');
  const content = randomBytes(2 * PART + 1);
  await writeFile(file, content);
  const log = streamed(s3, 'logs/flaky.log', file, new PartSlots(1), new AbortController().signal, flaky);
  log.grew(content.length);
  await waitFor(() => log.uploadedBytes === 2 * PART, { what: 'the parts, after the failures' });
  const outcome = await log.finish(content.length, new AbortController().signal);
  t.ok(failures < 0, 'the failed parts were sent again');
  t.ok((await s3.get('logs/flaky.log'))!.equals(content));
  t.equal(outcome?.sha256, sha256(content));
});

t.test("the SDK's own retries send the part again from the spool (a stream is read once: each attempt gets a fresh one)", async (t) => {
  const s3 = await startTestS3(t);
  // Requests in order: create, part 1 (refused: 503 after its body was read), part 1 again, part 2, …
  let requests = 0;
  const refusedAt = new Set([2, 5]);
  const proxy = await startS3FaultProxy({
    target: { host: '127.0.0.1', port: s3.port },
    random: { next: () => (refusedAt.has(++requests) ? 0 : 0.99), int: (min) => min, chance: () => false, pick: (items) => items[0]!, fork: () => { throw new Error('unused'); } },
    rates: { refuse: 0.5, cut: 0 },
  });
  t.teardown(() => proxy.close());
  const client = testS3Client(proxy.endpoint);
  t.teardown(() => client.destroy());
  const file = path.join(await spoolDir(t), 'retried.log');
  const content = randomBytes(2 * PART + 99);
  await writeFile(file, content);
  let failedSends = 0;
  const counting = {
    send: (command: unknown, options: unknown) => (client.send as (c: unknown, o: unknown) => Promise<unknown>)(command, options).catch((error: unknown) => {
      failedSends++;
      throw error;
    }),
  } as unknown as S3Client;
  const log = streamed(s3, 'logs/retried.log', file, new PartSlots(1), new AbortController().signal, counting, 1);
  log.grew(content.length);
  const outcome = await log.finish(content.length, new AbortController().signal);
  t.equal(proxy.stats.refused, 2, 'two attempts were refused');
  t.equal(failedSends, 0, 'the SDK sent them again itself');
  t.ok((await s3.get('logs/retried.log'))!.equals(content), 'stored byte for byte');
  t.equal(outcome?.sha256, sha256(content));

  // A log shorter than a part is one PUT, from the spool too.
  const small = path.join(await spoolDir(t), 'small-retried.log');
  const few = randomBytes(1000);
  await writeFile(small, few);
  refusedAt.add(requests + 1);
  const put = streamed(s3, 'logs/small-retried.log', small, new PartSlots(1), new AbortController().signal, counting, 1);
  await put.finish(few.length, new AbortController().signal);
  t.equal(proxy.stats.refused, 3, 'the PUT was refused once');
  t.ok((await s3.get('logs/small-retried.log'))!.equals(few), 'and stored byte for byte');
});

/** s3.client, but every command is seen first (and may be answered otherwise). */
function spying(s3: TestS3, answer: (command: unknown) => Promise<unknown> | undefined): S3Client {
  return {
    send: (command: unknown, options: unknown) => answer(command) ?? (s3.client.send as (c: unknown, o: unknown) => Promise<unknown>)(command, options),
  } as unknown as S3Client;
}

t.test('an upload aborted under it: the stream steps aside (the archive uploads the spool whole)', async (t) => {
  const s3 = await startTestS3(t);
  const file = path.join(await spoolDir(t), 'gone.log');
  const content = randomBytes(2 * PART + 10);
  await writeFile(file, content.subarray(0, PART));
  // As after a lifecycle rule or an operator aborted the upload (s3rver cannot abort uploads itself).
  let aborted = false;
  const client = spying(s3, (command) =>
    aborted && command instanceof UploadPartCommand ? Promise.reject(Object.assign(new Error('gone'), { name: 'NoSuchUpload' })) : undefined,
  );
  const log = streamed(s3, 'logs/gone.log', file, new PartSlots(1), new AbortController().signal, client);
  log.grew(PART);
  await waitFor(() => log.uploadedBytes === PART, { what: 'the first part' });
  aborted = true;
  await appendFile(file, content.subarray(PART));
  log.grew(content.length);
  t.equal(await log.finish(content.length, new AbortController().signal), undefined, 'not usable');
  t.same(await s3.keys('logs/'), [], 'and nothing was completed');
});

t.test('a completion whose answer was lost is proven by the object, though S3 refuses the completion again', async (t) => {
  // Chaos seed 20261203, j0015: the answer to CompleteMultipartUpload was cut after S3 acted; s3rver answers every
  // later completion of that upload 500 InternalError (AWS: NoSuchUpload, or 200), and the pod's archive never finished.
  const s3 = await startTestS3(t);
  const file = path.join(await spoolDir(t), 'lost-answer.log');
  const content = randomBytes(2 * PART + 99);
  await writeFile(file, content);
  let completions = 0;
  const client = spying(s3, (command) => {
    if (!(command instanceof CompleteMultipartUploadCommand) || completions++ > 0) return undefined;
    return (s3.client.send as (c: unknown) => Promise<unknown>)(command).then(() => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
  });
  const log = streamed(s3, 'logs/lost-answer.log', file, new PartSlots(1), new AbortController().signal, client);
  log.grew(content.length);
  let outcome: Awaited<ReturnType<StreamedLog['finish']>>;
  const errors: string[] = [];
  for (let attempt = 0; attempt < 3 && outcome === undefined; attempt++) {
    outcome = await log.finish(content.length, new AbortController().signal).catch((error: unknown) => {
      errors.push(String(error));
      return undefined;
    });
  }
  t.equal(outcome?.sha256, sha256(content), `completed and verified (failed finishes: ${errors.join('; ') || 'none'})`);
  t.ok((await s3.get('logs/lost-answer.log'))!.equals(content), 'stored byte for byte');
  t.equal(await openUploads(s3), 0, 'no upload left open');
});

t.test('abandoned: the upload is aborted, no object', async (t) => {
  const s3 = await startTestS3(t);
  const file = path.join(await spoolDir(t), 'abandoned.log');
  await writeFile(file, randomBytes(PART + 1));
  const aborts: string[] = [];
  const client = spying(s3, (command) => {
    if (!(command instanceof AbortMultipartUploadCommand)) return undefined;
    aborts.push(command.input.UploadId ?? '');
    return Promise.resolve({});
  });
  const log = streamed(s3, 'logs/abandoned.log', file, new PartSlots(1), new AbortController().signal, client);
  log.grew(PART + 1);
  await waitFor(() => log.uploadedBytes === PART, { what: 'a part' });
  await log.abandon();
  t.equal(aborts.length, 1, 'the multipart upload was aborted');
  t.ok(aborts[0], 'by its id');
  t.same(await s3.keys('logs/'), []);
});

t.test('the shared slots bound the parts on their way, however many logs stream', async (t) => {
  const s3 = await startTestS3(t);
  const dir = await spoolDir(t);
  const slots = new PartSlots(2);
  let sending = 0;
  let peak = 0;
  const counting = {
    send: async (command: unknown, options: unknown) => {
      const part = command instanceof UploadPartCommand;
      if (part) peak = Math.max(peak, ++sending);
      try {
        return await (s3.client.send as (c: unknown, o: unknown) => Promise<unknown>)(command, options);
      } finally {
        if (part) sending--;
      }
    },
  } as unknown as S3Client;
  const contents = Array.from({ length: 5 }, () => randomBytes(2 * PART + 3));
  const logs = await Promise.all(
    contents.map(async (content, i) => {
      const file = path.join(dir, `${i}.log`);
      await writeFile(file, content);
      const log = streamed(s3, `logs/m${i}.log`, file, slots, new AbortController().signal, counting);
      log.grew(content.length);
      return log;
    }),
  );
  for (const [i, log] of logs.entries()) {
    await log.finish(contents[i]!.length, new AbortController().signal);
    t.ok((await s3.get(`logs/m${i}.log`))!.equals(contents[i]!), `log ${i} intact`);
  }
  t.equal(peak, 2, 'two parts on their way at most, for five logs of three parts');
  t.equal(slots.inUse, 0, 'every slot given back');
});

t.test('a restarted controller takes up the journaled upload: the parts S3 has are not sent again', async (t) => {
  const s3 = await startTestS3(t);
  const file = path.join(await spoolDir(t), 'resumed.log');
  const content = randomBytes(3 * PART + 77);
  await writeFile(file, content.subarray(0, 2 * PART + 5));
  const before = streamed(s3, 'logs/resumed.log', file, new PartSlots(1), new AbortController().signal);
  before.grew(2 * PART + 5);
  await waitFor(() => before.uploadedBytes === 2 * PART, { what: 'two parts' });
  const journaled = before.progress()!;
  t.equal(journaled.partMd5s.length, 2);
  // The process was killed here. The next one reads its journal:
  await appendFile(file, content.subarray(2 * PART + 5));
  const parts: number[] = [];
  const client = spying(s3, (command) => {
    if (command instanceof UploadPartCommand) parts.push(command.input.PartNumber ?? 0);
    return undefined;
  });
  const after = streamed(s3, 'logs/resumed.log', file, new PartSlots(1), new AbortController().signal, client);
  t.equal(await after.resume(journaled), true, 'taken up');
  after.grew(content.length);
  const outcome = await after.finish(content.length, new AbortController().signal);
  t.same(parts, [3, 4], 'only the parts S3 did not have');
  t.ok((await s3.get('logs/resumed.log'))!.equals(content), 'stored byte for byte');
  t.equal(outcome?.sha256, sha256(content), 'SHA-256 of the whole, recomputed from the spool');

  const other = streamed(s3, 'logs/resumed.log', file, new PartSlots(1), new AbortController().signal);
  t.equal(await other.resume({ ...journaled, partMd5s: ['0'.repeat(32), journaled.partMd5s[1]!] }), false, 'a spool that is not what was uploaded is not taken up');
});

t.test('parts go up `concurrency` at once, in order into the upload, and a capture never waits holding a slot', async (t) => {
  const s3 = await startTestS3(t);
  for (const [buffers, concurrency, most] of [
    [3, 2, 2],
    [1, 2, 1],
  ] as const) {
    let sending = 0;
    let peak = 0;
    // The first part answers last: the ones after it wait, held, until it is in.
    let first = true;
    const counting = {
      send: async (command: unknown, options: unknown) => {
        if (!(command instanceof UploadPartCommand)) return (s3.client.send as (c: unknown, o: unknown) => Promise<unknown>)(command, options);
        sending++;
        peak = Math.max(peak, sending);
        try {
          if (first && concurrency > 1 && buffers > 1) {
            first = false;
            await waitFor(() => (sending >= 2 ? true : undefined), { what: 'a second part on its way' });
          }
          return await (s3.client.send as (c: unknown, o: unknown) => Promise<unknown>)(command, options);
        } finally {
          sending--;
        }
      },
    } as unknown as S3Client;
    const file = path.join(await spoolDir(t), 'many.log');
    const content = randomBytes(6 * PART + 99);
    await writeFile(file, content);
    const key = `logs/many-${buffers}.log`;
    const log = streamed(s3, key, file, new PartSlots(buffers), new AbortController().signal, counting, concurrency);
    log.grew(content.length);
    const outcome = await log.finish(content.length, new AbortController().signal);
    t.equal(peak, most, `${buffers} slots, concurrency ${concurrency}: at most ${most} parts at once`);
    t.ok((await s3.get(key))!.equals(content), 'stored byte for byte');
    t.equal(outcome?.sha256, sha256(content));
  }
});
