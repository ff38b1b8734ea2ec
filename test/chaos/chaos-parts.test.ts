/**
 * The chaos run's own parts, so its verdicts can be trusted: the seeded
 * generator and plan, the job program's output and receipts (also under
 * SIGTERM), the verification of archived logs against them, and the S3 fault
 * proxy against s3rver with the real AWS SDK.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { containerLogKey, jobRecordKey, type JobRecord } from '../../lib/archive/layout.js';
import { bodySlice, digestOf, LONG_LINE, outputChunks, resultValue } from './job-output.mjs';
import { planChaos, type JobSpec, type PlannedJob } from './plan.js';
import { seededRandom } from './prng.js';
import { decideFault, startS3FaultProxy } from './s3-fault-proxy.js';
import { expectedLogs, firstDifference, readReceipts, recordedIncomplete, verifyJob, type Receipt, type SubmittedJob } from './verify.js';
import { parseChaosArgs } from './run.js';
import { waitFor } from '../helpers/wait-for.js';

const JOB_PROGRAM = path.join(import.meta.dirname, 'job.mjs');

function spec(truth: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    key: 'k1',
    truth,
    ms: 0,
    init: { bytes: 100, newline: true },
    main: { bytes: 70_000, newline: false },
    failFirst: false,
    failAlways: false,
    result: true,
    ...overrides,
  };
}

const all = (s: JobSpec, role: 'init' | 'main', attempt: number, pod: string, termAfter?: number): Buffer =>
  Buffer.concat([...outputChunks(s, role, attempt, pod, termAfter)]);

t.test('the seeded generator repeats itself per seed and purpose', async (t) => {
  const a = seededRandom('7');
  const b = seededRandom('7');
  const draws = Array.from({ length: 5 }, () => a.next());
  t.same(Array.from({ length: 5 }, () => b.next()), draws, 'same seed, same draws');
  t.not(seededRandom('8').next(), seededRandom('7').next(), 'another seed, other draws');
  t.not(seededRandom('7').fork('x').next(), seededRandom('7').fork('y').next(), 'forks are independent');
  const r = seededRandom('ints');
  for (let i = 0; i < 200; i++) {
    const n = r.int(3, 5);
    t.ok(n >= 3 && n <= 5 && Number.isInteger(n), `int in range (${n})`);
  }
});

t.test('the plan is a function of the seed and respects the size bound', async (t) => {
  const options = { jobs: 200, kills: 5, seed: 's', replicas: 2, maxBytes: 256 * 1024, truth: '/truth' };
  const plan = planChaos(options);
  t.same(planChaos(options).jobs, plan.jobs, 'same seed, same jobs');
  t.notSame(planChaos({ ...options, seed: 'other' }).jobs, plan.jobs);
  t.equal(plan.jobs.length, 200);
  t.ok(plan.jobs.every((j) => j.spec.main.bytes <= options.maxBytes && j.spec.init.bytes <= options.maxBytes), 'no log above --max-bytes');
  t.ok(plan.jobs.some((j) => j.via === 'direct') && plan.jobs.some((j) => j.via === 'api'), 'both kinds of jobs');
  t.ok(plan.jobs.some((j) => j.dismissAfterMs !== undefined), 'some dismissals');
  t.ok(plan.jobs.some((j) => j.spec.failFirst) && plan.jobs.some((j) => j.spec.failAlways), 'restarts and failures');
  t.ok(plan.jobs.some((j) => !j.spec.main.newline) && plan.jobs.some((j) => j.spec.main.bytes === 0 || j.spec.main.bytes < 100), 'unterminated and tiny logs');
  t.ok(plan.jobs.every((j) => j.via === 'api' || j.dismissAfterMs === undefined), 'dismissals go through the API');
  t.equal(plan.kills.length, 5);
  t.ok(plan.kills.every((k, i) => k.afterJobs > 0 && k.afterJobs <= 200 && (i === 0 || k.afterJobs >= plan.kills[i - 1]!.afterJobs)), 'kills spread over the submissions');
  const kinds = new Set(Array.from({ length: 100 }, () => plan.faults(seededRandom('f').fork(String(Math.random()))).fault.kind));
  t.same([...kinds].sort(), ['drop-watches', 'errors', 'gone', 'stall'], 'every kind of API server fault');
});

t.test('job output: random access, endings, result and SIGTERM trailer', async (t) => {
  const s = spec('/truth');
  const whole = all(s, 'main', 1, 'pod');
  const digest = digestOf(s, 'main', 1, 'pod');
  t.equal(whole.length, digest.bytes);
  t.equal(createHash('sha256').update(whole).digest('hex'), digest.sha256);
  const headerLength = whole.indexOf(0x0a) + 1;
  t.same(bodySlice(s, 'main', 1, 1000, 1100), whole.subarray(headerLength + 1000, headerLength + 1100), 'any slice without the bytes before it');
  t.notOk(bodySlice(s, 'main', 1, LONG_LINE.start, LONG_LINE.start + LONG_LINE.length).includes(0x0a), 'one long line');
  t.notSame(all(s, 'main', 2, 'pod'), whole, 'another attempt prints other bytes');
  t.ok(whole.subarray(-resultValue(s, 1).length).equals(Buffer.from(resultValue(s, 1))), 'ends with the result, no final newline');
  t.match(whole.toString(), /\nPYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:application\/json\nPYGEOAPI_K8S_MANAGER_RESULT_START\n/);
  const init = all(s, 'init', 1, 'pod');
  t.equal(init.at(-1), 0x0a, 'newline: true ends with a newline');
  const plain = all(spec('/truth', { result: false }), 'main', 1, 'pod');
  t.not(plain.at(-1), 0x0a, 'newline: false does not');
  t.notMatch(all(spec('/truth', { failFirst: true }), 'main', 1, 'pod').toString(), /RESULT_START/, 'a failing attempt prints no result');
  const cut = all(s, 'main', 1, 'pod', 5000);
  t.ok(cut.subarray(0, headerLength + 5000).equals(whole.subarray(0, headerLength + 5000)), 'a SIGTERM keeps the prefix');
  t.match(cut.subarray(headerLength + 5000).toString(), /^\nchaos: SIGTERM after 5000 body bytes\n$/);
  t.same(all(spec('/truth', { main: { bytes: 0, newline: false }, result: false }), 'main', 1, 'p').toString(), 'chaos job=k1 container=main attempt=1 pod=p bytes=0\n');
});

function runJob(args: string[], env: Record<string, string>, onStart?: (pid: number) => void): Promise<{ code: number | null; stdout: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [JOB_PROGRAM, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => {
      if (chunks.length === 0) onStart?.(child.pid!);
      chunks.push(c);
    });
    child.on('exit', (code) => resolve({ code, stdout: Buffer.concat(chunks) }));
  });
}

t.test('the job program prints the planned bytes, counts attempts and leaves receipts', async (t) => {
  const truth = await mkdtemp(path.join(os.tmpdir(), 'chaos-truth-'));
  t.teardown(() => rm(truth, { recursive: true, force: true }));
  const s = spec(truth, { failFirst: true, ms: 50 });
  // From the inputs variable, as the API and the webhook inject it.
  const first = await runJob(['main'], { HOSTNAME: 'pod-a', PYGEOAPI_K8S_MANAGER_INPUTS: JSON.stringify({ spec: s }) });
  t.equal(first.code, 1, 'the first attempt fails on purpose');
  t.ok(first.stdout.equals(all(s, 'main', 1, 'pod-a')), 'attempt 1: the planned bytes');
  // From the argument, should the webhook not have injected the inputs.
  const second = await runJob(['main', JSON.stringify(s)], { HOSTNAME: 'pod-a' });
  t.equal(second.code, 0);
  t.ok(second.stdout.equals(all(s, 'main', 2, 'pod-a')), 'attempt 2: the planned bytes');
  const receipts = (await readReceipts(truth, 'k1')).sort((a, b) => a.attempt - b.attempt);
  t.same(
    receipts.map((r) => [r.attempt, r.exitCode, r.bytes, r.source, r.termAfter]),
    [
      [1, 1, first.stdout.length, 'inputs', null],
      [2, 0, second.stdout.length, 'argument', null],
    ],
  );
  t.equal(receipts[1]!.sha256, createHash('sha256').update(second.stdout).digest('hex'));

  const slow = spec(truth, { key: 'k2', ms: 20_000, main: { bytes: 400_000, newline: true } });
  const stopped = await runJob(['main', JSON.stringify(slow)], { HOSTNAME: 'pod-b' }, (pid) => process.kill(pid, 'SIGTERM'));
  t.equal(stopped.code, 143, 'SIGTERM ends it at once');
  const [receipt] = await readReceipts(truth, 'k2');
  t.ok(receipt && receipt.termAfter !== null, 'the receipt says where it was cut');
  t.ok(stopped.stdout.equals(all(slow, 'main', 1, 'pod-b', receipt!.termAfter!)), 'prefix plus trailer, as recomputed');
  const usage = await runJob(['neither'], {});
  t.equal(usage.code, 2);
  const nothing = await runJob(['main'], {});
  t.equal(nothing.code, 2, 'no spec: a clear refusal');
});

function receipt(s: JobSpec, role: 'init' | 'main', attempt: number, pod: string, termAfter?: number): Receipt {
  const d = digestOf(s, role, attempt, pod, termAfter);
  return { key: s.key, role, attempt, pod, bytes: d.bytes, sha256: d.sha256, termAfter: termAfter ?? null, exitCode: 0, source: 'inputs' };
}

t.test('verification: which logs, and what counts as lost, corrupt or misrecorded', async (t) => {
  const s = spec('/truth', { failFirst: true });
  const planned: PlannedJob = { spec: s, via: 'direct', deleteWhenFinished: false, gapMs: 0 };
  const job: SubmittedJob = { planned, jobName: 'chaos-k1', dismissed: false, submittedAt: 0 };
  const receipts = [receipt(s, 'init', 1, 'p1'), receipt(s, 'main', 1, 'p1'), receipt(s, 'main', 2, 'p1')];
  t.same(
    expectedLogs(receipts, 'direct').map((l) => [l.container, l.receipt.attempt, l.previous]),
    [
      ['main', 1, true],
      ['prepare', 1, false],
      ['main', 2, false],
    ],
    'per pod and container: the last instance and the one before',
  );
  const key = (c: string, previous = false): string => containerLogKey('logs/', 'default', 'chaos-k1', 'p1', c, previous);
  const objects = new Map<string, Buffer>([
    [key('prepare'), all(s, 'init', 1, 'p1')],
    [key('main', true), all(s, 'main', 1, 'p1')],
    [key('main'), all(s, 'main', 2, 'p1')],
  ]);
  const record: JobRecord = {
    status: { status: 'successful' },
    result: { value: resultValue(s, 2) },
    logs: [...objects].map(([k, body]) => ({ pod: 'p1', container: k.includes('prepare') ? 'prepare' : 'main', key: k, bytes: body.length })),
    archivedAt: 'now',
  };
  const access = (store: Map<string, Buffer>, rec: unknown) => ({
    prefix: 'logs/',
    namespace: 'default',
    get: async (k: string) => (k === jobRecordKey('logs/', 'default', 'chaos-k1') ? (rec === undefined ? undefined : Buffer.from(JSON.stringify(rec))) : store.get(k)),
  });
  const good = await verifyJob(job, receipts, access(objects, record));
  t.same(good.findings, [], 'intact archive, honest record');
  t.equal(good.logs, 3);

  const truncated = new Map(objects).set(key('main'), objects.get(key('main'))!.subarray(0, 1000));
  const bad = await verifyJob(job, receipts, access(truncated, record));
  t.equal(bad.findings.length, 1);
  t.equal(bad.findings[0]!.kind, 'corrupt', 'shorter than printed while the record says complete');
  t.match(bad.findings[0]!.detail, /first difference at byte 1000 \(record: complete/);

  const empty = new Map(objects).set(key('prepare'), Buffer.alloc(0));
  const honest = { ...record, logs: record.logs.map((l) => (l.container === 'prepare' ? { ...l, bytes: 0, complete: false, reason: 'gone' } : l)) };
  const lost = await verifyJob(job, receipts, access(empty, honest));
  t.same(lost.findings.map((f) => f.kind), ['lost'], 'recorded as incomplete: lost, not corrupt');
  t.equal(recordedIncomplete({ pod: 'p', container: 'c', key: 'k', bytes: 0, complete: false, reason: 'x' }), 'complete: false (x)');
  t.equal(recordedIncomplete({ pod: 'p', container: 'c', key: 'k', bytes: 0, complete: false, incompleteReason: 'log removed' }), 'complete: false (log removed)');
  t.equal(recordedIncomplete({ pod: 'p', container: 'c', key: 'k', bytes: 0, incomplete: 'gone' }), 'incomplete: "gone"');
  t.equal(recordedIncomplete({ pod: 'p', container: 'c', key: 'k', bytes: 0 }), undefined);

  const missing = new Map(objects);
  missing.delete(key('main', true));
  t.same((await verifyJob(job, receipts, access(missing, record))).findings.map((f) => f.kind), ['lost']);

  const misrecorded = { ...record, status: { status: 'running' }, result: { value: '' }, logs: record.logs.map((l) => ({ ...l, bytes: l.bytes + 1 })) };
  const kinds = (await verifyJob(job, receipts, access(objects, misrecorded))).findings.map((f) => f.kind).sort();
  t.same(kinds, ['record', 'record', 'record', 'status'], 'sizes and status; no result expected from an unfinished record');
  const wrongResult = { ...record, result: { value: '' } };
  t.same((await verifyJob(job, receipts, access(objects, wrongResult))).findings.map((f) => f.kind), ['result'], 'a successful record with the wrong result');
  t.same((await verifyJob(job, receipts, access(objects, undefined))).findings.map((f) => f.kind), ['record'], 'no record');
  t.equal(firstDifference(planned, receipts[0]!, all(s, 'init', 1, 'p1')), all(s, 'init', 1, 'p1').length, 'no difference: the length');
  t.same((await verifyJob(job, [receipts[0]!], access(objects, record))).findings.map((f) => f.kind), ['generator'], 'a job whose main never ran');
});

t.test('command line', async (t) => {
  const defaults = parseChaosArgs([]);
  t.match(defaults, { jobs: 30, kills: 2, replicas: 2, maxBytes: 32 * 1024 * 1024, keep: false });
  t.match(parseChaosArgs(['--jobs', '300', '--kills', '5', '--seed', 'abc', '--max-bytes', '256KiB']), { jobs: 300, kills: 5, seed: 'abc', maxBytes: 262_144 });
  t.match(parseChaosArgs(['--submit-for', '600']), { submitForMs: 600_000 });
  t.notOk('submitForMs' in parseChaosArgs([]), 'no submission bound unless asked');
  t.throws(() => parseChaosArgs(['--jobs', 'many']), /--jobs must be an integer/);
  t.throws(() => parseChaosArgs(['--replicas', '1']), /--replicas must be an integer ≥ 2/);
  t.throws(() => parseChaosArgs(['--max-bytes', 'lots']), /not a size/);
  t.throws(() => parseChaosArgs(['--nope']), /Unknown option/);
});

t.test('the S3 fault proxy refuses and cuts as seeded, in front of s3rver', async (t) => {
  const decisions = (seed: string) => {
    const r = seededRandom(seed);
    return Array.from({ length: 1000 }, () => decideFault(r, { refuse: 0.1, cut: 0.1 }));
  };
  t.same(decisions('x'), decisions('x'), 'seeded');
  const counts = decisions('x').reduce<Record<string, number>>((acc, d) => ({ ...acc, [d ?? 'none']: (acc[d ?? 'none'] ?? 0) + 1 }), {});
  t.ok(counts.refuse! > 60 && counts.refuse! < 140, `about 10 % refused (${counts.refuse})`);
  const cuts = counts['cut-before-answer']! + counts['cut-mid-answer']!;
  t.ok(cuts > 60 && cuts < 140 && counts['cut-before-answer']! > 0 && counts['cut-mid-answer']! > 0, `about 10 % cut, both ways (${cuts})`);

  const directory = await mkdtemp(path.join(os.tmpdir(), 'chaos-proxy-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: 'b' }] });
  const { port } = await server.run();
  t.teardown(async () => {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });
  const client = (endpoint: string): S3Client =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const direct = client(`http://127.0.0.1:${port}`);
  t.teardown(() => direct.destroy());
  const read = async (key: string): Promise<string | undefined> =>
    direct
      .send(new GetObjectCommand({ Bucket: 'b', Key: key }))
      .then(async (r) => r.Body!.transformToString())
      .catch(() => undefined);

  const refusing = await startS3FaultProxy({ target: { host: '127.0.0.1', port }, random: seededRandom('r'), rates: { refuse: 1, cut: 0 } });
  t.teardown(() => refusing.close());
  const viaRefusing = client(refusing.endpoint);
  t.teardown(() => viaRefusing.destroy());
  const refused = await viaRefusing.send(new PutObjectCommand({ Bucket: 'b', Key: 'refused', Body: 'x' })).catch((e: unknown) => e as { name?: string; $metadata?: { httpStatusCode?: number } });
  t.equal((refused as { name?: string }).name, 'SlowDown', 'a 503 SlowDown');
  t.equal(await read('refused'), undefined, 'never reached S3');
  t.equal(refusing.stats.refused, 1);

  const cutting = await startS3FaultProxy({ target: { host: '127.0.0.1', port }, random: seededRandom('c'), rates: { refuse: 0, cut: 1 } });
  t.teardown(() => cutting.close());
  const viaCutting = client(cutting.endpoint);
  t.teardown(() => viaCutting.destroy());
  const cut = await viaCutting.send(new PutObjectCommand({ Bucket: 'b', Key: 'cut', Body: 'applied' })).then(
    () => 'answered',
    () => 'broken',
  );
  t.equal(cut, 'broken', 'the client sees a broken connection');
  t.equal(await read('cut'), 'applied', 'but S3 applied the request');
  const gets = await Promise.all(Array.from({ length: 6 }, () => viaCutting.send(new GetObjectCommand({ Bucket: 'b', Key: 'cut' })).then(async (r) => r.Body!.transformToString()).then(() => 'read', () => 'broken')));
  t.same(gets, Array(6).fill('broken'), 'reads are cut too, before or in the middle of the answer');
  t.equal(cutting.stats.cut, 7);

  cutting.setEnabled(false);
  await waitFor(
    () => viaCutting.send(new GetObjectCommand({ Bucket: 'b', Key: 'cut' })).then(async (r) => (await r.Body!.transformToString()) === 'applied'),
    { what: 'a plain proxy once faults are off' },
  );
});
