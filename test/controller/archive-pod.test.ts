/**
 * archivePod against s3rver: what the record says about logs that could not
 * be read whole, and that a complete archive is never replaced by a less
 * complete capture (loss c: complete logs overwritten by 0-byte captures of
 * a controller that came after the kubelet had removed them).
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { V1Pod } from '@kubernetes/client-node';
import { archivePod, KeyedLock, type ArchiveContext, type ArchiveInput } from '../../controller/archive-pod.js';
import type { CapturedLog } from '../../controller/log-parts.js';
import type { PodFinalizers } from '../../controller/pod-finalizer.js';
import { S3Archive } from '../../lib/archive/writer.js';
import type { JobRecord } from '../../lib/archive/layout.js';
import type { KubeHttp } from '../../lib/kube/http.js';
import { BUCKET, startTestS3 } from './helpers/s3.js';

const S = 'PYGEOAPI_K8S_MANAGER_RESULT_START';

t.test('archivePod', async (t) => {
  const s3 = await startTestS3(t);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'archive-pod-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('the Kubernetes API is not used for a pod that is gone')) });
  const ctx: ArchiveContext = {
    s3: new S3Archive({ client: s3.client, bucket: BUCKET, partSizeBytes: 5 * 1024 * 1024, queueSize: 2 }),
    prefix: 'logs/',
    layout: 'per-container',
    jobNamePrefix: 'pygeoapi-job-',
    resultAnnotationLimitBytes: 1024,
    http: unused as KubeHttp,
    finalizers: unused as PodFinalizers,
    logger: pino({ level: 'silent' }),
    jobLock: new KeyedLock(),
  };
  const pod = (name: string, phase = 'Succeeded'): V1Pod => ({
    metadata: { name, namespace: 'ns', uid: name, labels: { 'job-name': name.replace(/-pod$/, '') } },
    spec: { containers: [{ name: 'main' }] },
    status: { phase },
  });
  const spool = async (name: string, text: string, complete: boolean, incompleteReason?: string): Promise<CapturedLog> => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return { container: 'main', init: false, previous: false, file, bytes: Buffer.byteLength(text), complete, ...(incompleteReason ? { incompleteReason } : {}) };
  };
  const record = async (job: string): Promise<JobRecord> => JSON.parse((await s3.get(`logs/ns/${job}/job.json`))!.toString('utf8')) as JobRecord;
  const signal = new AbortController().signal;
  // The Job finished and went (TTL): its last state says how it ended; no result annotations to write.
  const input = (p: V1Pod, logs: CapturedLog[]): ArchiveInput => ({
    pod: p,
    podGone: true,
    logs,
    job: { metadata: { name: p.metadata!.labels!['job-name'], namespace: 'ns' }, status: { conditions: [{ type: 'Complete', status: 'True' }] } },
    jobDeleted: true,
    jobHasOtherPods: false,
    endedBeforeDeletion: true,
  });

  t.test('a later, incomplete capture never replaces a complete archived log', async (t) => {
    const full = `hello\n${S}\n42`;
    await archivePod(ctx, input(pod('a-pod'), [await spool('a1', full, true)]), signal);
    const first = await record('a');
    t.equal(first.logs[0]!.complete, true);
    // A controller that came after the kubelet removed the logs: nothing read, and it knows why.
    const outcome = await archivePod(ctx, input(pod('a-pod'), [await spool('a2', '', false, 'gone: removed')]), signal);
    t.equal((await s3.get('logs/ns/a/a-pod/main.log'))?.toString(), full, 'the complete log stays in S3');
    const second = await record('a');
    t.same(second.logs, first.logs, 'the record keeps the verified complete entry');
    t.same(second.result, { value: '42' }, 'and the result read from it');
    t.equal(second.status.status, 'successful');
    t.same(outcome.incomplete, [], 'nothing incomplete was archived');
  });

  t.test('a log that could not be read whole is recorded incomplete with its reason, never as complete', async (t) => {
    const outcome = await archivePod(ctx, input(pod('b-pod'), [await spool('b', '', false, 'gone: the container log was gone')]), signal);
    const rec = await record('b');
    t.match(rec.logs[0], { bytes: 0, complete: false, incompleteReason: 'main: gone: the container log was gone' });
    t.equal(outcome.incomplete.length, 1);
    // The markers may have been in what could not be read: the result is unknown, never an empty success.
    t.equal(rec.status.status, 'failed', 'nothing read: the result is unknown');
    t.match(rec.status.message, /result was lost .*main: gone: the container log was gone/);
    t.equal(rec.result, undefined);
    t.equal(rec.resultLost, 'main: gone: the container log was gone');
    t.equal(outcome.resultLost, 'main: gone: the container log was gone', 'said to the reconciler (metric and Warning Event)');
  });

  t.test("a restarted container's previous instance with a gap: the final instance is whole, its result is trusted", async (t) => {
    const previous = { ...(await spool('r1', 'first try\n', false, 'restarts: restarted before its log was read')), previous: true };
    const outcome = await archivePod(ctx, input(pod('r-pod'), [previous, await spool('r2', `second\n${S}\n7`, true)]), signal);
    const rec = await record('r');
    t.equal(rec.status.status, 'successful');
    t.same(rec.result, { value: '7' });
    t.equal(rec.resultLost, undefined);
    t.equal(outcome.incomplete.length, 1, 'the previous log is still archived incomplete');
  });

  t.test('a failed pod with an incomplete log: failed as it was, nothing said lost', async (t) => {
    const outcome = await archivePod(ctx, { ...input(pod('x-pod', 'Failed'), [await spool('x', '', false, 'gone: removed')]), job: undefined }, signal);
    const rec = await record('x');
    t.equal(rec.status.status, 'failed');
    t.equal(rec.resultLost, undefined);
    t.equal(outcome.resultLost, undefined);
  });

  t.test('a succeeded job whose result came from an incomplete log is not a success with an empty result', async (t) => {
    const outcome = await archivePod(ctx, input(pod('c-pod'), [await spool('c', `${S}\n`, false, 'gap: rotated')]), signal);
    const rec = await record('c');
    t.equal(rec.result, undefined, 'no (empty) result');
    t.equal(rec.status.status, 'failed');
    t.match(rec.status.message, /result was lost/);
    t.match(rec.resultLost, /main: gap: rotated/);
    t.match(outcome.resultLost, /gap/);
  });

  t.test('a replaced object under a complete entry is not trusted: the capture is archived', async (t) => {
    await archivePod(ctx, input(pod('d-pod'), [await spool('d1', 'one\n', true)]), signal);
    await s3.client.send(new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: BUCKET, Key: 'logs/ns/d/d-pod/main.log', Body: 'tampered' }));
    await archivePod(ctx, input(pod('d-pod'), [await spool('d2', 'one', false, 'gone: removed')]), signal);
    t.equal((await s3.get('logs/ns/d/d-pod/main.log'))?.toString(), 'one', 'what could be read replaces an object that is not the verified one');
    t.equal((await record('d')).logs[0]!.complete, false);
  });

  t.test('a labelled Job deleted after it completed keeps its real outcome, never dismissed', async (t) => {
    // Archived once with the Job's Complete condition, then again by a controller that never saw the Job (restart, new leader).
    const done = { ...pod('e-pod'), metadata: { ...pod('e-pod').metadata, deletionTimestamp: new Date(), deletionGracePeriodSeconds: 0 } };
    await archivePod(ctx, input(pod('e-pod'), [await spool('e1', 'one\n', true)]), signal);
    await archivePod(ctx, { ...input(done, [await spool('e2', 'one\n', true)]), job: undefined, endedBeforeDeletion: false }, signal);
    t.equal((await record('e')).status.status, 'successful', 'the recorded outcome stays');
    // First archived only after the deletion, by a controller that never saw the Job: the pod says it ran to its end.
    await archivePod(ctx, { ...input(pod('f-pod', 'Failed'), [await spool('f', 'oops\n', true)]), job: undefined }, signal);
    t.equal((await record('f')).status.status, 'failed');
    await archivePod(ctx, { ...input(pod('g-pod'), [await spool('g', 'one\n', true)]), job: undefined }, signal);
    t.equal((await record('g')).status.status, 'successful');
    // Deleted while it ran: dismissed.
    await archivePod(ctx, { ...input(pod('h-pod', 'Failed'), [await spool('h', 'cut\n', true)]), job: undefined, endedBeforeDeletion: false }, signal);
    t.equal((await record('h')).status.status, 'dismissed');
  });
});
