/**
 * WorkQueue: a key is queued once, never handled twice at a time, handled
 * again when added while in flight, retried with back-off, delayed adds
 * keep the sooner one, and shutdown waits for handlers in flight.
 */
import t from 'tap';
import { WorkQueue } from '../../lib/work-queue.js';
import { waitFor } from '../helpers/wait-for.js';

/** A handler whose calls the test releases one by one. */
function gate() {
  const calls: string[] = [];
  const pending = new Map<string, Array<(fail?: Error) => void>>();
  const handler = (key: string): Promise<void> => {
    calls.push(key);
    return new Promise((resolve, reject) => {
      const list = pending.get(key) ?? [];
      list.push((fail) => (fail ? reject(fail) : resolve()));
      pending.set(key, list);
    });
  };
  const release = (key: string, fail?: Error): void => {
    const list = pending.get(key);
    const next = list?.shift();
    if (!next) throw new Error(`no call of ${key} waiting`);
    next(fail);
  };
  const waiting = (key: string): number => pending.get(key)?.length ?? 0;
  return { calls, handler, release, waiting };
}

t.test('a key queued several times is handled once', async (t) => {
  const g = gate();
  const q = new WorkQueue(g.handler, { concurrency: 1 });
  q.add('a');
  q.add('b');
  q.add('b');
  t.equal(q.depth, 1, 'b waits once; a is in flight');
  g.release('a');
  await waitFor(() => g.waiting('b') === 1, { what: 'b to run' });
  g.release('b');
  await q.idle();
  t.same(g.calls, ['a', 'b']);
});

t.test('a key added while in flight runs again afterwards, never twice at once', async (t) => {
  const g = gate();
  const q = new WorkQueue(g.handler, { concurrency: 4 });
  q.add('a');
  await waitFor(() => g.waiting('a') === 1, { what: 'a to run' });
  q.add('a');
  q.add('a');
  t.equal(g.waiting('a'), 1, 'not a second handler of a while the first runs');
  g.release('a');
  await waitFor(() => g.waiting('a') === 1 && g.calls.length === 2, { what: 'a to run again' });
  g.release('a');
  await q.idle();
  t.same(g.calls, ['a', 'a'], 'once more, not twice more');
});

t.test('concurrency bounds the handlers in flight', async (t) => {
  const g = gate();
  const q = new WorkQueue(g.handler, { concurrency: 2 });
  for (const k of ['a', 'b', 'c']) q.add(k);
  t.same(g.calls, ['a', 'b']);
  t.equal(q.depth, 1);
  g.release('a');
  await waitFor(() => g.calls.length === 3, { what: 'c to start' });
  g.release('b');
  g.release('c');
  await q.idle();
});

t.test('a failing key is retried with growing back-off, and the error reported', async (t) => {
  const errors: Array<[string, number]> = [];
  let attempts = 0;
  const times: number[] = [];
  const q = new WorkQueue(
    async () => {
      times.push(Date.now());
      if (++attempts < 4) throw new Error('not yet');
    },
    { baseDelayMs: 40, maxDelayMs: 1000, onError: (key, _e, attempt) => errors.push([key, attempt]) },
  );
  q.add('k');
  await waitFor(() => attempts === 4, { what: 'the fourth attempt' });
  t.same(errors, [['k', 1], ['k', 2], ['k', 3]]);
  // Jitter takes a delay down to half: the gaps are at least 20, 40, 80 ms.
  const gaps = times.slice(1).map((time, i) => time - times[i]!);
  t.ok(gaps[0]! >= 19 && gaps[1]! >= 39 && gaps[2]! >= 79, `back-off grows (${gaps.join(', ')} ms)`);
  await q.shutdown();
});

t.test('addAfter: the sooner of two delayed adds stands; an immediate add does not wait', async (t) => {
  const seen: Array<[string, number]> = [];
  const start = Date.now();
  const q = new WorkQueue(async (key) => void seen.push([key, Date.now() - start]));
  q.addAfter('late', 10_000);
  q.addAfter('late', 50);
  q.addAfter('late', 20_000);
  q.addAfter('now', 0);
  await waitFor(() => seen.length === 2, { what: 'both keys' });
  t.equal(seen[0]![0], 'now');
  t.equal(seen[1]![0], 'late');
  t.ok(seen[1]![1] < 5_000, 'the 50 ms add stood');
  await q.shutdown();
});

t.test('shutdown waits for handlers in flight, drops the rest and takes no more', async (t) => {
  const g = gate();
  const q = new WorkQueue(g.handler, { concurrency: 1 });
  q.add('a');
  q.add('b');
  q.addAfter('c', 10);
  let done = false;
  const stopping = q.shutdown().then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(done, false, 'a is still running');
  g.release('a');
  await stopping;
  q.add('d');
  t.same(g.calls, ['a'], 'b, c and d never ran');
  t.equal(q.depth, 0);
});
