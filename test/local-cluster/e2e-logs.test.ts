/**
 * The pods/log endpoint of the local cluster: following a running
 * container, timestamps, sinceTime, tailLines, limitBytes, the previous
 * instance of a restarted container, and the errors for bad requests.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { CoreV1Api, Log, type V1Pod } from '@kubernetes/client-node';
import { apiFailure, rawRequest, shellContainer, shellPod, startTestCluster, type RawResponse } from '../helpers/local-cluster.js';
import { waitFor, within } from '../helpers/wait-for.js';

const NS = 'logs';
const cluster = await startTestCluster(t, { namespaces: [NS] });
const kc = cluster.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);

const readPod = (name: string): Promise<V1Pod> => core.readNamespacedPod({ namespace: NS, name });
const log = (pod: string, query = ''): Promise<RawResponse> => rawRequest(cluster, 'GET', `/api/v1/namespaces/${NS}/pods/${pod}/log${query ? `?${query}` : ''}`);
const finished = (name: string) =>
  waitFor(async () => {
    const pod = await readPod(name);
    return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? pod : undefined;
  }, { what: `pod ${name} to finish` });

/** Five numbered lines, then exit: the log every query test reads. */
const FIVE_LINES = 'line-1\nline-2\nline-3\nline-4\nline-5\n';
await core.createNamespacedPod({ namespace: NS, body: shellPod('five', 'for i in 1 2 3 4 5; do echo line-$i; done') });
await finished('five');

t.test('follow=true streams lines as they are printed and ends when the container exits', async (t) => {
  // The container prints a line, then waits for the test's go-ahead file before the next one.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-logs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const script = 'for i in 1 2 3; do echo step-$i; while [ ! -e go-$i ]; do sleep 0.02; done; done; echo bye';
  await core.createNamespacedPod({ namespace: NS, body: shellPod('follow', script, { containers: [{ ...shellContainer('main', script), workingDir: dir }] }) });
  await waitFor(async () => (await readPod('follow')).status?.phase === 'Running', { what: 'pod follow to run' });

  const received: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => received.push(chunk));
  const ended = new Promise<void>((resolve) => sink.on('end', resolve));
  const text = (): string => Buffer.concat(received).toString();
  const request = await new Log(kc).log(NS, 'follow', 'main', sink, { follow: true });
  t.teardown(() => request.abort());

  for (const i of [1, 2, 3]) {
    await waitFor(() => text().endsWith(`step-${i}\n`), { what: `step-${i} to arrive while the container waits` });
    t.equal(text(), Array.from({ length: i }, (_, k) => `step-${k + 1}\n`).join(''), `after step ${i}: exactly the lines printed so far`);
    await writeFile(path.join(dir, `go-${i}`), '');
  }
  await within(ended, { what: 'the followed log to end when the container exits' });
  t.equal(text(), 'step-1\nstep-2\nstep-3\nbye\n', 'the whole log, once');
  t.equal((await readPod('follow')).status?.phase, 'Succeeded');
});

t.test('timestamps=true prefixes every line with an increasing RFC 3339 nano timestamp', async (t) => {
  const response = await log('five', 'timestamps=true');
  t.equal(response.status, 200);
  const lines = response.text.trimEnd().split('\n');
  t.equal(lines.length, 5);
  const stamps: string[] = [];
  lines.forEach((line, i) => {
    const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z) (.*)$/.exec(line);
    t.ok(match, `line ${i + 1} has a timestamp: ${line}`);
    t.equal(match?.[2], `line-${i + 1}`);
    stamps.push(match?.[1] ?? '');
  });
  t.same([...stamps].sort(), stamps, 'in order');
  t.equal(new Set(stamps).size, 5, 'no two alike');
});

t.test('sinceTime returns the lines from that time on, none before and none twice', async (t) => {
  const stamps = (await log('five', 'timestamps=true')).text.trimEnd().split('\n').map((l) => l.split(' ')[0]!);
  const from3 = await log('five', `sinceTime=${encodeURIComponent(stamps[2]!)}`);
  t.equal(from3.status, 200);
  t.equal(from3.text, 'line-3\nline-4\nline-5\n', 'from the third line\'s own timestamp: lines 3 to 5');
  const first = await log('five', `sinceTime=${encodeURIComponent(stamps[0]!)}`);
  t.equal(first.text, FIVE_LINES, 'from the first line: everything, once');
  const future = await log('five', `sinceTime=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
  t.equal(future.text, '', 'from the future: nothing');
  const bad = await log('five', 'sinceTime=yesterday');
  t.equal(bad.status, 400, 'a sinceTime that is not RFC 3339 is 400');
});

t.test('sinceTime over a log of many read chunks: from each chosen line on, exactly', async (t) => {
  // 40 000 lines (~1.6 MB with stamps, ~25 of the reader's 64 KiB chunks): whole chunks before the time are skipped unparsed.
  await core.createNamespacedPod({ namespace: NS, body: shellPod('many', "seq -f '%08.0f' 1 40000") });
  await finished('many');
  const stamped = (await log('many', 'timestamps=true')).text.trimEnd().split('\n');
  t.equal(stamped.length, 40_000);
  for (const index of [0, 1, 1_637, 20_000, 39_998, 39_999]) {
    const stamp = stamped[index]!.split(' ')[0]!;
    const got = await log('many', `sinceTime=${encodeURIComponent(stamp)}&timestamps=true`);
    t.equal(got.text, `${stamped.slice(index).join('\n')}\n`, `from line ${index + 1}'s own time: it and every later line, once`);
  }
  // One nanosecond after line 30 000's stamp: at or before line 30 001's (stamps strictly grow), so the read starts there.
  const stamp = stamped[29_999]!.split(' ')[0]!;
  const nanos = BigInt(stamp.slice(20, 29)) + 1n;
  if (nanos < 1_000_000_000n) {
    const next = `${stamp.slice(0, 20)}${nanos.toString().padStart(9, '0')}Z`;
    t.equal((await log('many', `sinceTime=${encodeURIComponent(next)}`)).text.split('\n')[0], '00030001', 'a time after a line starts at the next line');
  }
  const shifted = new Date(Date.parse(stamp.slice(0, 19) + 'Z') + 3_600_000).toISOString().slice(0, 19) + stamp.slice(19, 29) + '+01:00';
  t.equal((await log('many', `sinceTime=${encodeURIComponent(shifted)}`)).text.split('\n')[0], '00030000', 'an offset other than Z names the same instant');
});

t.test('tailLines returns the last lines', async (t) => {
  t.equal((await log('five', 'tailLines=2')).text, 'line-4\nline-5\n');
  t.equal((await log('five', 'tailLines=0')).text, '', 'tailLines=0: nothing');
  t.equal((await log('five', 'tailLines=99')).text, FIVE_LINES, 'more than there are: all');
  t.equal((await log('five', 'tailLines=-1')).status, 400, 'a negative tailLines is 400');
});

t.test('limitBytes cuts the log after that many bytes', async (t) => {
  t.equal((await log('five', 'limitBytes=10')).text, 'line-1\nlin');
  t.equal((await log('five', 'limitBytes=1000')).text, FIVE_LINES);
  t.equal((await log('five', 'limitBytes=0')).status, 400, 'limitBytes must be at least 1');
  t.equal((await log('five', 'tailLines=1&limitBytes=4')).text, 'line', 'tailLines and limitBytes together');
});

t.test('previous=true returns the log of the container\'s last terminated instance', async (t) => {
  // OnFailure: the first run fails, the restarted one stays up.
  const script = 'if [ -e ran-before ]; then echo second run; sleep 30; else touch ran-before; echo first run; exit 1; fi';
  await core.createNamespacedPod({ namespace: NS, body: shellPod('restarts', script, { restartPolicy: 'OnFailure' }) });
  const restarted = await waitFor(async () => {
    const pod = await readPod('restarts');
    const status = pod.status?.containerStatuses?.[0];
    return status?.restartCount === 1 && status.state?.running ? status : undefined;
  }, { what: 'the restarts pod\'s container to be restarted and running' });
  t.equal(restarted.lastState?.terminated?.exitCode, 1, 'the last state is the failed first run');
  t.equal((await log('restarts', 'previous=true')).text, 'first run\n', 'previous: the first run');
  await waitFor(async () => (await log('restarts')).text === 'second run\n', { what: 'the current log to show the second run' });
  t.pass('current: the second run');
  await core.deleteNamespacedPod({ namespace: NS, name: 'restarts', gracePeriodSeconds: 0 });

  const never = await log('five', 'previous=true');
  t.equal(never.status, 400, 'previous for a container that never restarted is 400');
  t.match(never.json(), { reason: 'BadRequest', message: 'previous terminated container "main" in pod "five" not found' });
});

t.test('errors for missing and unknown container names and pods', async (t) => {
  const two = shellPod('two-containers', 'echo a', { containers: [shellContainer('alpha', 'echo a'), shellContainer('beta', 'echo b')] });
  await core.createNamespacedPod({ namespace: NS, body: two });
  await finished('two-containers');
  t.equal((await log('two-containers', 'container=beta')).text, 'b\n', 'each container has its own log');

  const unnamed = await log('two-containers');
  t.equal(unnamed.status, 400, 'leaving out the container of a two-container pod is 400');
  t.match(unnamed.json(), { kind: 'Status', code: 400, reason: 'BadRequest', message: 'a container name must be specified for pod two-containers, choose one of: [alpha beta]' });

  const unknown = await log('two-containers', 'container=gamma');
  t.equal(unknown.status, 400);
  t.match(unknown.json(), { message: 'container gamma is not valid for pod two-containers' });

  const noPod = await log('no-such-pod');
  t.equal(noPod.status, 404);
  t.match(noPod.json(), { reason: 'NotFound', message: 'pods "no-such-pod" not found' });

  const viaClient = await apiFailure(core.readNamespacedPodLog({ namespace: NS, name: 'two-containers' }));
  t.equal(viaClient.httpCode, 400, 'client-node sees the 400 as an ApiException');
  t.equal((await core.readNamespacedPodLog({ namespace: NS, name: 'two-containers', container: 'alpha' })), 'a\n', 'and reads a named container\'s log');
});
