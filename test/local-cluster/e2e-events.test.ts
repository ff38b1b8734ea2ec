/**
 * Events as client-go's recorder writes them: a repeated event (a crashing
 * container's BackOff) is one object whose count grows and whose
 * lastTimestamp moves, named `<object>.<hex nanoseconds>`, with the kubelet's
 * source naming its node and a controller's naming none.
 */
import t from 'tap';
import { BatchV1Api, CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { shellJob, shellPod, startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';

const NS = 'events';
const cluster = await startTestCluster(t, { namespaces: [NS] });
const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
const batch = cluster.kubeConfig().makeApiClient(BatchV1Api);
const eventsOf = async (name: string): Promise<CoreV1Event[]> =>
  (await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items;

t.test('a repeated event is counted on one object', async (t) => {
  await core.createNamespacedPod({ namespace: NS, body: shellPod('crasher', 'exit 1', { restartPolicy: 'Always' }) });
  const backOff = await waitFor(async () => {
    const found = (await eventsOf('crasher')).filter((e) => e.reason === 'BackOff');
    return found.length === 1 && (found[0]!.count ?? 0) >= 3 ? found[0] : undefined;
  }, { what: 'one BackOff event counted three times', timeoutMs: 20_000 });
  t.equal((await eventsOf('crasher')).filter((e) => e.reason === 'BackOff').length, 1, 'one object for the repeated event');
  t.match(backOff.metadata?.name, /^crasher\.[0-9a-f]{12,}$/, `named <pod>.<hex nanoseconds> (${backOff.metadata?.name})`);
  t.ok(backOff.firstTimestamp! <= backOff.lastTimestamp!, 'lastTimestamp moves, firstTimestamp stays');
  t.same(backOff.source, { component: 'kubelet', host: 'local-node' }, 'the kubelet names its node');
  t.equal(backOff.reportingInstance, 'local-node');
  await core.deleteNamespacedPod({ namespace: NS, name: 'crasher', gracePeriodSeconds: 0 });
});

t.test('a controller\'s event names no host', async (t) => {
  await batch.createNamespacedJob({ namespace: NS, body: shellJob('quick', 'true') });
  const created = await waitFor(async () => (await eventsOf('quick')).find((e) => e.reason === 'SuccessfulCreate'), { what: 'the Job controller\'s SuccessfulCreate event' });
  t.same(created.source, { component: 'job-controller' });
  t.equal(created.count, 1);
});
