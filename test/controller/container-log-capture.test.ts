/**
 * The log capture against a scripted kubelet: streams cut in the middle of
 * a line, streams that end while the container still runs, restarts and
 * logs that vanish. The spool must hold every line exactly once.
 */
import t, { type Test } from 'tap';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import pino from 'pino';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { ContainerLogCapture } from '../../controller/container-log-capture.js';
import { KubeApiError, type KubeHttp, type KubeRequest } from '../../lib/kube/http.js';
import { sleep } from '../../lib/kube/backoff.js';
import { waitFor } from '../helpers/wait-for.js';

interface LogRecord {
  ts: string;
  text: string;
}

const ts = (n: number): string => `2026-01-01T00:00:00.${String(n).padStart(9, '0')}Z`;
const lines = (from: number, to: number, prefix = 'line'): LogRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ ts: ts(from + i), text: `${prefix} ${from + i}\n` }));

/** A kubelet's pods/log for one container, scripted by the test. */
class FakeKubelet {
  /** Log records of each instance (restartCount). */
  instances = new Map<number, LogRecord[]>();
  requests: Array<Record<string, unknown>> = [];
  /** For the next connections: cut after this many bytes (undefined: serve all). */
  cuts: Array<number | undefined> = [];
  /**
   * Follows end cleanly (no error) after this many bytes: what the kubelet does
   * when the container exits while its follow is at the end of the file and the
   * runtime has not written the last bytes yet.
   */
  followEndsAfter: number | undefined;
  /** Records gone from the kubelet (a rotated log file): reads return only records after these. */
  rotatedAway = 0;
  gone = false;
  /** Logs vanish after this many reads (the kubelet removed the container). */
  readsBeforeGone = Number.POSITIVE_INFINITY;
  /** Called as each read arrives (its number, from 1), to change the script at a precise point. */
  onRequest: (n: number) => void = () => undefined;
  status: V1ContainerStatus = { name: 'main', image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } };
  phase = 'Running';
  /** The pod as the capture's watch last delivered it, when it lags behind the API (undefined: it is up to date). */
  seen: V1Pod | undefined;
  /** The capture's retry window for previous logs. */
  retryDeadlineMs = 60_000;
  /** Follows stay open after the log's last byte, even once the container ended (until the reader closes them). */
  followStaysOpen = false;
  /** Reading the pod afresh also makes it the capture's view, as PodLogCapture does (the lagging `seen` goes). */
  freshUpdatesView = false;
  /** Pods read afresh so far. */
  freshReads = 0;
  /** The capture's followCheckMs (undefined: its default). */
  followCheckMs: number | undefined;
  /** Errors thrown by the next reads of a previous log, in order (undefined: serve it). */
  previousFailures: Array<Error | undefined> = [];
  private waiters: Array<() => void> = [];

  pod(): V1Pod {
    return { metadata: { name: 'p', namespace: 'ns' }, spec: { restartPolicy: 'OnFailure', containers: [{ name: 'main' }] }, status: { phase: this.phase, containerStatuses: [this.status] } };
  }

  /** The pod as the watch delivers it. */
  watched(): V1Pod {
    return this.seen ?? this.pod();
  }

  async freshPod(): Promise<V1Pod | undefined> {
    this.freshReads++;
    if (this.gone) return undefined;
    if (this.freshUpdatesView) this.seen = undefined;
    return this.pod();
  }

  changed(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  /** Captures waiting for the pod to change. */
  get waiting(): number {
    return this.waiters.length;
  }

  podChange(ms: number, signal: AbortSignal): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), sleep(ms, signal)]);
  }

  http(): KubeHttp {
    return { stream: (options: KubeRequest) => this.stream(options) } as unknown as KubeHttp;
  }

  private async stream(options: KubeRequest): Promise<Readable> {
    const query = options.query ?? {};
    this.requests.push(query);
    this.onRequest(this.requests.length);
    if (this.requests.length > this.readsBeforeGone) this.gone = true;
    if (this.gone) throw new KubeApiError(404, 'pods "p" not found', 'NotFound');
    if (query.previous) {
      const failure = this.previousFailures.shift();
      if (failure) throw failure;
    }
    // As a kubelet between instances: "current" is the newest instance there is, "previous" the one before.
    const newest = Math.max(...this.instances.keys());
    const instance = query.previous ? newest - 1 : newest;
    const since = typeof query.sinceTime === 'string' ? query.sinceTime : '';
    const kept = (this.instances.get(instance) ?? []).slice(this.rotatedAway);
    // tailLines: the last lines of the file (each record here is a line), sinceTime then filters them, as the kubelet does.
    const tail = typeof query.tailLines === 'number' ? kept.slice(Math.max(0, kept.length - query.tailLines)) : kept;
    const records = tail.filter((r) => r.ts >= since);
    const bytes = Buffer.from(records.map((r) => `${r.ts} ${r.text}`).join(''));
    const cut = this.cuts.shift();
    const cleanEnd = query.follow ? this.followEndsAfter : undefined;
    if (query.follow === true && this.followStaysOpen && cut === undefined) {
      // Open until the reader destroys it (a PassThrough: a generator waiting on nothing could not be destroyed).
      const open = new PassThrough();
      open.write(bytes);
      return open;
    }
    return Readable.from(
      (async function* () {
        // Small pieces (bigger for big logs, to stay quick), so lines straddle chunks.
        const end = Math.min(cut ?? bytes.length, cleanEnd ?? bytes.length);
        const step = bytes.length > 10_000 ? 4096 : 7;
        for (let i = 0; i < end; i += step) yield bytes.subarray(i, Math.min(i + step, end));
        if (cut !== undefined) throw new Error('connection reset');
      })(),
    );
  }
}

async function capture(
  t: Test,
  kubelet: FakeKubelet,
  given?: { dir: string; abort: AbortController },
): Promise<{ capture: ContainerLogCapture; text: (i: number) => Promise<string> }> {
  const dir = given?.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'capture-')));
  const abort = given?.abort ?? new AbortController();
  t.teardown(async () => {
    abort.abort();
    await rm(dir, { recursive: true, force: true });
  });
  const c = new ContainerLogCapture({
    http: kubelet.http(),
    namespace: 'ns',
    podName: 'p',
    container: 'main',
    init: false,
    spoolDir: dir,
    logger: pino({ level: 'silent' }),
    backoff: { baseMs: 5, maxMs: 20 },
    retryDeadlineMs: kubelet.retryDeadlineMs,
    signal: abort.signal,
    pod: () => ({ pod: kubelet.watched(), gone: kubelet.gone }),
    freshPod: () => kubelet.freshPod(),
    podChange: (ms) => kubelet.podChange(ms, abort.signal),
    ...(kubelet.followCheckMs !== undefined ? { followCheckMs: kubelet.followCheckMs } : {}),
  });
  return {
    capture: c,
    text: async (i) => {
      const spool = c.instances[i]!;
      return (await readFile(spool.file)).subarray(0, spool.committed).toString('utf8');
    },
  };
}

function terminate(kubelet: FakeKubelet, exitCode = 0): void {
  kubelet.status = { ...kubelet.status, state: { terminated: { exitCode } } };
  kubelet.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
  kubelet.changed();
}

t.test('a stream cut mid-line resumes at the last whole line, without duplicates', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, [...lines(1, 3), { ts: ts(4), text: 'unfinished last line' }]);
  terminate(kubelet);
  const firstLine = `${ts(1)} line 1\n`.length;
  kubelet.cuts = [firstLine + 10, firstLine * 2 + 3];
  const { capture: c, text } = await capture(t, kubelet);
  await c.done;
  t.equal(await text(0), 'line 1\nline 2\nline 3\nunfinished last line', 'every byte once; the last line without newline is kept');
  t.equal(c.complete, true);
  t.same(
    kubelet.requests.map((r) => r.tailLines ?? r.sinceTime),
    [undefined, 64, 64],
    'each reconnect asks from the last complete line',
  );
  t.ok(
    kubelet.requests.every((r) => r.timestamps === true && r.follow === undefined),
    'plain reads: the container was known to have ended before they began',
  );
});

t.test('a stream that ends while the container runs is read on, not repeated', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 2));
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => kubelet.requests.length >= 2, { what: 'a second read' });
  t.equal(c.finished, false, 'still capturing while the container runs');
  kubelet.instances.set(0, lines(1, 5));
  terminate(kubelet);
  await c.done;
  t.equal(await text(0), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
  t.equal(c.complete, true);
});

t.test('restarts: the replaced instance is finished from the previous log', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 3, 'first'));
  kubelet.cuts = [10];
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => kubelet.requests.length >= 2, { what: 'a second read' });
  // The first instance crashed and was replaced before we read its end.
  kubelet.instances.set(1, lines(10, 11, 'second'));
  kubelet.status = { ...kubelet.status, restartCount: 1, lastState: { terminated: { exitCode: 1 } }, state: { running: {} } };
  kubelet.changed();
  await waitFor(() => kubelet.requests.some((r) => r.previous === true), { what: 'the previous log to be read' });
  terminate(kubelet);
  await c.done;
  t.equal(c.instances.length, 2);
  t.equal(await text(0), 'first 1\nfirst 2\nfirst 3\n', 'the replaced instance, whole');
  t.equal(await text(1), 'second 10\nsecond 11\n', 'the current instance');
  t.equal(c.complete, true);
});

t.test('crash-loop back-off: nothing is read between instances', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 3, 'first'));
  kubelet.cuts = [10];
  // The first read is cut, and meanwhile the container crashed; the next instance is not there yet
  // (the kubelet would still serve the old one as "current").
  kubelet.onRequest = (n) => {
    if (n !== 1) return;
    kubelet.status = { ...kubelet.status, restartCount: 1, lastState: { terminated: { exitCode: 1 } }, state: { waiting: { reason: 'CrashLoopBackOff' } } };
    kubelet.changed();
  };
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => kubelet.waiting > 0, { what: 'the capture to wait for the next instance' });
  t.equal(kubelet.requests.length, 1, 'no read while between instances');
  kubelet.instances.set(1, lines(10, 10, 'second'));
  kubelet.status = { ...kubelet.status, state: { running: {} } };
  kubelet.changed();
  await waitFor(() => kubelet.requests.length >= 3, { what: 'the previous and the current log to be read' });
  t.same(kubelet.requests[1], { container: 'main', timestamps: true, previous: true }, 'the rest of the crashed instance, from its previous log');
  terminate(kubelet);
  await c.done;
  t.equal(await text(0), 'first 1\nfirst 2\nfirst 3\n');
  t.equal(await text(1), 'second 10\n');
  t.equal(c.complete, true);
});

t.test('capture started after a restart also takes the previous instance', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 1, 'before'));
  kubelet.instances.set(1, lines(2, 2, 'after'));
  kubelet.status = { ...kubelet.status, restartCount: 1, lastState: { terminated: { exitCode: 1 } }, state: { terminated: { exitCode: 0 } } };
  kubelet.phase = 'Succeeded';
  const { capture: c, text } = await capture(t, kubelet);
  await c.done;
  t.equal(await text(0), 'before 1\n');
  t.equal(await text(1), 'after 2\n');
});

t.test('logs gone before the end: incomplete, with what was read', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 3));
  kubelet.cuts = [`${ts(1)} line 1\n`.length + 2];
  kubelet.readsBeforeGone = 1;
  const { capture: c, text } = await capture(t, kubelet);
  await c.done;
  t.equal(kubelet.requests.length, 2, 'one read, cut, then the log was gone');
  t.equal(c.complete, false);
  t.equal(await text(0), 'line 1\n', 'the whole lines read before');
});

t.test('a container that never ran has no log', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.status = { ...kubelet.status, state: { waiting: { reason: 'ContainerCreating' } } };
  kubelet.phase = 'Failed';
  const { capture: c } = await capture(t, kubelet);
  await c.done;
  t.equal(c.instances.length, 0);
  t.equal(c.complete, true);
  t.equal(kubelet.requests.length, 0);
});

t.test('loss (d): the last line without newline survives a follow that ends at exit before it was written', async (t) => {
  const kubelet = new FakeKubelet();
  const result = 'PYGEOAPI_K8S_MANAGER_RESULT_START\n';
  kubelet.instances.set(0, [...lines(1, 1), { ts: ts(2), text: result }, { ts: ts(3), text: '{"echo": "hi"}' }]);
  // The follow stops at the end of the file as the container exits; the final piece is flushed after.
  kubelet.followEndsAfter = `${ts(1)} line 1\n${ts(2)} ${result}`.length;
  terminate(kubelet);
  const { capture: c, text } = await capture(t, kubelet);
  await c.done;
  t.equal(await text(0), `line 1\n${result}{"echo": "hi"}`, 'the unterminated last line is captured');
  t.equal(c.complete, true);
  t.ok(
    kubelet.requests.some((r) => r.follow === undefined && r.previous === undefined),
    'completeness is proven by a read that began after the container was known to have ended',
  );
});

t.test('loss (a): an init container whose follow came back empty is not archived as a complete empty log', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 1, 'init'));
  kubelet.followEndsAfter = 0;
  // The container ends while the first follow is on its way.
  kubelet.onRequest = (n) => {
    if (n === 1) terminate(kubelet);
  };
  const { capture: c, text } = await capture(t, kubelet);
  await c.done;
  t.equal(await text(0), 'init 1\n');
  t.equal(c.complete, true);
});

t.test('loss (b): a follow that ends cleanly in the middle of a big log does not make it complete', async (t) => {
  const kubelet = new FakeKubelet();
  const big = Array.from({ length: 300 }, (_, i) => ({ ts: ts(i + 1), text: `${'x'.repeat(1000)} ${i}\n` }));
  kubelet.instances.set(0, big);
  kubelet.followEndsAfter = 100_000 + 17; // mid-line
  kubelet.onRequest = (n) => {
    if (n === 1) terminate(kubelet);
  };
  const { capture: c, text } = await capture(t, kubelet);
  await c.done;
  t.equal((await text(0)).length, big.reduce((sum, r) => sum + r.text.length, 0), 'every byte');
  t.equal(c.complete, true);
});

t.test('a reconnect that finds the log rotated past the last line read is a gap: incomplete, with the reason, the rest kept', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 6));
  kubelet.cuts = [`${ts(1)} line 1\n${ts(2)} line 2\n`.length + 3];
  kubelet.onRequest = (n) => {
    if (n === 2) {
      kubelet.rotatedAway = 4; // lines 1-4 went with the rotated file
      terminate(kubelet);
    }
  };
  const { capture: c, text } = await capture(t, kubelet);
  await c.done;
  t.equal(c.complete, false);
  t.match(c.instances[0]!.incompleteReason, /gap/);
  t.equal(await text(0), 'line 1\nline 2\nline 5\nline 6\n', 'what the kubelet still had is kept after the gap');
});

t.test('logs gone: the reason is kept', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 1));
  kubelet.readsBeforeGone = 0;
  terminate(kubelet);
  const { capture: c } = await capture(t, kubelet);
  await c.done;
  t.equal(c.complete, false);
  t.match(c.instances[0]!.incompleteReason, /gone/);
});

/** Restarts with the previous log read failing: a crashed instance replaced before its end was read, then the end. */
async function replacedInstance(t: Test, failures: Array<Error | undefined>, retryDeadlineMs = 60_000) {
  const kubelet = new FakeKubelet();
  kubelet.retryDeadlineMs = retryDeadlineMs;
  kubelet.previousFailures = failures;
  kubelet.instances.set(0, lines(1, 3, 'first'));
  kubelet.instances.set(1, lines(10, 10, 'second'));
  kubelet.status = { ...kubelet.status, restartCount: 1, lastState: { terminated: { exitCode: 1 } }, state: { terminated: { exitCode: 0 } } };
  kubelet.phase = 'Succeeded';
  const captured = await capture(t, kubelet);
  await captured.capture.done;
  return { kubelet, ...captured };
}

t.test('a previous log whose reads fail transiently is read again until it is whole', async (t) => {
  const failures = [new KubeApiError(503, 'the server is unavailable'), new Error('socket hang up'), new KubeApiError(500, 'internal error'), new KubeApiError(429, 'slow down')];
  const { kubelet, capture: c, text } = await replacedInstance(t, failures);
  t.equal(kubelet.requests.filter((r) => r.previous === true).length, 5, 'four failures, then the read that worked');
  t.equal(await text(0), 'first 1\nfirst 2\nfirst 3\n', 'the replaced instance, whole');
  t.equal(c.instances[0]!.state, 'complete');
  t.equal(await text(1), 'second 10\n');
  t.equal(c.complete, true);
});

t.test('a previous log the kubelet no longer has is lost, with the reason, never a complete empty log', async (t) => {
  const { capture: c, text } = await replacedInstance(t, [new KubeApiError(503, 'unavailable'), new KubeApiError(400, 'previous terminated container "main" in pod "p" not found', 'BadRequest')]);
  t.equal(await text(0), '');
  t.equal(c.instances[0]!.state, 'incomplete');
  t.match(c.instances[0]!.incompleteReason, /^gone: .*not found/);
  t.equal(c.complete, false);
});

t.test('transient failures past the retry window: incomplete, saying how long it tried', async (t) => {
  const failures = Array.from({ length: 1000 }, () => new KubeApiError(503, 'unavailable'));
  const { capture: c } = await replacedInstance(t, failures, 50);
  t.equal(c.instances[0]!.state, 'incomplete');
  t.match(c.instances[0]!.incompleteReason, /^failed: the rest of the replaced instance could not be read \(\d+ attempts in \d+ s\): unavailable/);
});

t.test('a restarted controller resumes from the journal: only what is missing is read again', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 4));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'capture-resume-'));
  const first = new AbortController();
  const { capture: before } = await capture(t, kubelet, { dir, abort: first });
  const journal = path.join(dir, 'main.0.journal.json');
  await waitFor(async () => {
    const saved = await readFile(journal, 'utf8').catch(() => '');
    return saved.includes(`"lastTimestamp":"${ts(4)}"`) ? true : undefined;
  }, { what: 'the journal to name the last line read' });
  // Killed: nothing disposed, the spool and its journal stay (and bytes after the journal's are dropped on resume).
  first.abort();
  await before.done;
  await appendFile(path.join(dir, 'main.0.log'), 'half a li');
  kubelet.instances.set(0, [...lines(1, 6), { ts: ts(7), text: 'the end' }]);
  terminate(kubelet);
  const readsBefore = kubelet.requests.length;
  const { capture: after, text } = await capture(t, kubelet, { dir, abort: new AbortController() });
  await after.done;
  t.equal(await text(0), 'line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nthe end', 'every byte once');
  t.equal(after.complete, true);
  t.same(kubelet.requests.slice(readsBefore), [{ container: 'main', timestamps: true, tailLines: 64 }], 'the pod ended: the log\'s tail, anchored at the journaled line, was all it took');
});

t.test('a closing read takes the log\'s tail when it reaches back to the last line read, else reads from that line', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 200));
  // The follow ends (the container exited) after the first line, with 199 lines still to read: more than the tail brings.
  kubelet.followEndsAfter = `${ts(1)} line 1\n`.length;
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => (kubelet.requests.length >= 1 && c.instances[0]?.committed ? true : undefined), { what: 'the follow to read a line' });
  kubelet.instances.set(0, [...lines(1, 200), { ts: ts(201), text: 'no newline' }]);
  terminate(kubelet);
  await c.done;
  t.equal(await text(0), `${lines(1, 200).map((l) => l.text).join('')}no newline`, 'every byte once');
  t.equal(c.complete, true);
  const closing = kubelet.requests.filter((r) => r.follow === undefined);
  t.same(closing, [
    { container: 'main', timestamps: true, tailLines: 64 },
    { container: 'main', timestamps: true, sinceTime: ts(1) },
  ], 'the tail lacked the last line read: read again from it');
});

/**
 * Issue #15: the kubelet serves "the current log" of whatever instance is current when a read arrives. When the
 * container crashed and was restarted before the capture's watch showed it, a read meant for the old instance gets
 * the new one's log; none of it may land in the old instance's spool.
 */
const restarted = (kubelet: FakeKubelet, restartCount: number): V1ContainerStatus => ({
  ...kubelet.status,
  restartCount,
  lastState: { terminated: { exitCode: 1, containerID: `id-${restartCount - 1}` } },
  state: { running: {} },
  containerID: `id-${restartCount}`,
});

/**
 * Scripts a crash the capture sees at its first request and, by its second,
 * a restart the watch has not delivered yet: the kubelet already serves the
 * next instance (`next`) while the cached pod still shows the crash.
 */
function crashThenUnseenRestart(kubelet: FakeKubelet, next: LogRecord[], containerID?: string): void {
  kubelet.onRequest = (n) => {
    if (n === 1) {
      kubelet.status = { ...kubelet.status, state: { terminated: { exitCode: 1, ...(containerID ? { containerID } : {}) } } };
      kubelet.changed();
    }
    if (n === 2) {
      kubelet.seen = kubelet.pod();
      kubelet.followEndsAfter = undefined;
      kubelet.instances.set(1, next);
      kubelet.status = restarted(kubelet, 1);
    }
  };
}

/** The watch delivers the restart; once the next instance is read, it ends, and so does the capture. */
async function deliverRestartAndEnd(kubelet: FakeKubelet, c: Awaited<ReturnType<typeof capture>>['capture']): Promise<void> {
  kubelet.seen = undefined;
  kubelet.changed();
  await waitFor(() => (c.instances[1]?.committed ? true : undefined), { what: 'the new instance to be read' });
  terminate(kubelet);
  await c.done;
}

t.test('issue 15: a closing read served by the next instance is dropped; the old instance is read to its end as previous', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.status = { ...kubelet.status, containerID: 'id-0' };
  kubelet.instances.set(0, lines(1, 3, 'first'));
  // The follow ends at the crash, before the last line was read.
  kubelet.followEndsAfter = `${ts(1)} first 1\n${ts(2)} first 2\n`.length;
  crashThenUnseenRestart(kubelet, lines(10, 11, 'second'), 'id-0');
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => kubelet.requests.length >= 3, { what: 'the closing reads after the restart' });
  await deliverRestartAndEnd(kubelet, c);
  t.equal(await text(0), 'first 1\nfirst 2\nfirst 3\n', 'the old instance: its own bytes, whole, none of the next one\'s');
  t.equal(c.instances[0]!.state, 'complete', 'no gap: the next instance\'s log was not taken for a rotated one');
  t.equal(await text(1), 'second 10\nsecond 11\n');
  t.equal(c.complete, true);
  t.ok(kubelet.requests.some((r) => r.previous === true && r.sinceTime === ts(2)), 'the old instance was read as previous, from its anchor');
});

t.test('issue 15: an instance with no line read yet does not take the next instance\'s whole log as its own', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 1, 'first'));
  kubelet.followEndsAfter = 0;
  crashThenUnseenRestart(kubelet, lines(10, 11, 'second'));
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => kubelet.requests.length >= 2, { what: 'the closing read after the restart' });
  await deliverRestartAndEnd(kubelet, c);
  t.equal(await text(0), 'first 1\n', 'the old instance\'s own line, not the next one\'s log');
  t.equal(c.instances[0]!.state, 'complete');
  t.equal(await text(1), 'second 10\nsecond 11\n');
  t.equal(c.complete, true);
});

t.test('issue 15: a follow begun on a stale "running" status is dropped when the next instance served it', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 3, 'first'));
  kubelet.instances.set(1, lines(10, 11, 'second'));
  kubelet.status = { ...kubelet.status, containerID: 'id-0' };
  kubelet.seen = kubelet.pod();
  kubelet.status = restarted(kubelet, 1);
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => kubelet.requests.length >= 2, { what: 'follows served by the next instance' });
  kubelet.seen = undefined;
  kubelet.changed();
  await waitFor(() => (c.instances[1]?.committed ? true : undefined), { what: 'the new instance to be read' });
  terminate(kubelet);
  await c.done;
  t.equal(await text(0), 'first 1\nfirst 2\nfirst 3\n');
  t.equal(c.instances[0]!.state, 'complete');
  t.equal(await text(1), 'second 10\nsecond 11\n');
  t.equal(c.complete, true);
});

t.test('issue 15: a previous read served by a later instance is not taken as the replaced one\'s rest', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 1, 'first'));
  kubelet.instances.set(1, lines(10, 11, 'second'));
  kubelet.instances.set(2, lines(20, 21, 'third'));
  kubelet.status = restarted(kubelet, 1);
  // The watch shows the second instance running; the kubelet has started the third.
  kubelet.seen = kubelet.pod();
  kubelet.status = restarted(kubelet, 2);
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => (kubelet.requests.length >= 2 && c.instances[0]?.state !== 'capturing' ? true : undefined), { what: 'the previous read and a follow' });
  t.equal(await text(0), '', 'the first instance got none of the second\'s log');
  t.match(c.instances[0]!.incompleteReason, /^restarts: /, 'it is lost (the kubelet keeps one instance back), with the reason');
  kubelet.seen = undefined;
  kubelet.changed();
  await waitFor(() => (c.instances[1]?.restartCount === 2 && c.instances[1].committed ? true : undefined), { what: 'the third instance to be read' });
  terminate(kubelet);
  await c.done;
  t.same(c.instances.map((i) => i.restartCount), [1, 2]);
  t.equal(await text(0), 'second 10\nsecond 11\n', 'the second instance: its own log, from the previous one');
  t.equal(await text(1), 'third 20\nthird 21\n');
});

t.test('issue 15: a follow the server keeps open after its container ended is closed once a fresh pod read shows the end, and the log finished by a closing read', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, [...lines(1, 2), { ts: ts(3), text: 'last words' }]);
  kubelet.followStaysOpen = true;
  kubelet.followCheckMs = 40;
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => kubelet.freshReads >= 3, { what: 'the silent follow to be checked against the pod a few times' });
  t.equal(kubelet.requests.length, 1, 'a silent follow of a running container is left open');
  t.equal(c.finished, false);
  terminate(kubelet);
  await waitFor(() => c.finished, { what: 'the open follow to be closed and the log finished', timeoutMs: 5_000 });
  t.equal(await text(0), 'line 1\nline 2\nlast words', 'every byte once, the last line without newline from the closing read');
  t.equal(c.complete, true);
  t.same(
    kubelet.requests.map((r) => (r.follow ? 'follow' : `tail ${String(r.tailLines)}`)),
    ['follow', 'tail 64'],
    'the follow, then one closing read of the tail',
  );
});

t.test('issue 15: a follow that ends while the watched pod still says the container runs is checked against the API, not repeated for ever', async (t) => {
  const kubelet = new FakeKubelet();
  kubelet.instances.set(0, lines(1, 2));
  kubelet.freshUpdatesView = true;
  kubelet.onRequest = (n) => {
    if (n !== 2) return;
    // The watch stops at "running" (a change it will never deliver); the container writes its last line and ends.
    kubelet.seen = kubelet.pod();
    kubelet.instances.set(0, lines(1, 3));
    kubelet.status = { ...kubelet.status, state: { terminated: { exitCode: 0 } } };
    kubelet.phase = 'Succeeded';
  };
  const { capture: c, text } = await capture(t, kubelet);
  await waitFor(() => c.finished, { what: 'the capture to finish from the pod read afresh', timeoutMs: 5_000 });
  t.equal(await text(0), 'line 1\nline 2\nline 3\n');
  t.equal(c.complete, true);
  t.ok(kubelet.requests.length <= 4, `no loop of follows (${kubelet.requests.length} reads)`);
});
