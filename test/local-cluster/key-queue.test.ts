/** local-cluster's own controller work queue: dedupe, one run per key at a time, retries, delays, shutdown. */
import t from 'tap';
import { KeyQueue } from '../../local-cluster/controllers/key-queue.js';
import { waitFor } from '../helpers/wait-for.js';

t.test('a key waits once and never runs twice at the same time', async (t) => {
  const runs: string[] = [];
  let release: () => void = () => undefined;
  let active = 0;
  let maxActive = 0;
  const queue = new KeyQueue(async (key) => {
    runs.push(key);
    active++;
    maxActive = Math.max(maxActive, active);
    if (key === 'a' && runs.filter((k) => k === 'a').length === 1) await new Promise<void>((resolve) => (release = resolve));
    active--;
  }, 2);
  queue.add('a');
  queue.add('a'); // while running: runs again afterwards, once
  queue.add('a');
  queue.add('b');
  queue.add('b'); // while waiting or running: once more at most
  await waitFor(() => runs.includes('b') || undefined, { what: 'b to run beside a' });
  release();
  await waitFor(() => (runs.filter((k) => k === 'a').length === 2 ? true : undefined), { what: 'a to run again' });
  await queue.shutdown();
  t.equal(runs.filter((k) => k === 'a').length, 2, 'a ran twice: once, and once for the adds while it ran');
  t.ok(runs.filter((k) => k === 'b').length <= 2);
  t.equal(maxActive, 2, 'two workers');
});

t.test('failures retry with back-off; delayed adds keep the sooner one', async (t) => {
  let attempts = 0;
  const times: number[] = [];
  const queue = new KeyQueue(async () => {
    attempts++;
    times.push(Date.now());
    if (attempts < 3) throw new Error('not yet');
  }, 1, 20);
  queue.add('k');
  await waitFor(() => (attempts === 3 ? true : undefined), { what: 'two retries' });
  // Timers never fire early, so the back-off shows as lower bounds: 20 ms, then 40 ms.
  t.ok(times[1]! - times[0]! >= 19, 'the first retry waits the base delay');
  t.ok(times[2]! - times[1]! >= 39, 'the second waits twice as long');

  const order: string[] = [];
  const delayed = new KeyQueue(async (key) => void order.push(key));
  delayed.addAfter('late', 5_000);
  delayed.addAfter('late', 10); // sooner wins
  delayed.addAfter('later', 60_000);
  delayed.addAfter('now', 0);
  await waitFor(() => (order.includes('late') ? true : undefined), { what: 'the sooner delayed add' });
  t.same(order, ['now', 'late']);
  await delayed.shutdown();
  delayed.add('after-shutdown');
  t.same(order, ['now', 'late'], 'nothing runs after shutdown, not even pending delays');
  await queue.shutdown();
});

t.test('shutdown waits for the key being handled', async (t) => {
  let finished = false;
  const queue = new KeyQueue(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    finished = true;
  });
  queue.add('slow');
  await queue.shutdown();
  t.ok(finished);
});
