import t from 'tap';
import type { V1Pod } from '@kubernetes/client-node';
import { containerViews, jobRefOf, mayRestart, podWillRunNothingMore } from '../../controller/pod-view.js';

const pod: V1Pod = {
  metadata: { name: 'p', labels: { 'job-name': 'from-label' }, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'owner', uid: 'u1', controller: true }] },
  spec: {
    restartPolicy: 'OnFailure',
    initContainers: [{ name: 'init' }],
    containers: [{ name: 'main' }, { name: 'side' }],
  },
  status: {
    phase: 'Running',
    initContainerStatuses: [{ name: 'init', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } }],
    containerStatuses: [
      { name: 'main', image: '', imageID: '', ready: true, restartCount: 2, state: { running: {} }, lastState: { terminated: { exitCode: 1 } } },
      { name: 'side', image: '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
    ],
  },
};

t.test('containerViews: init first, in spec order', async (t) => {
  t.same(containerViews(pod), [
    { name: 'init', init: true, restartCount: 0, running: false, terminated: true, everStarted: true },
    { name: 'main', init: false, restartCount: 2, running: true, terminated: false, everStarted: true },
    { name: 'side', init: false, restartCount: 0, running: false, terminated: false, everStarted: false },
  ]);
  t.same(containerViews({ spec: { containers: [{ name: 'c' }] } }), [
    { name: 'c', init: false, restartCount: 0, running: false, terminated: false, everStarted: false },
  ], 'no status yet');
});

t.test('containerViews: the container IDs of the current instance and of the one before', async (t) => {
  const status = { name: 'main', image: '', imageID: '', ready: true, restartCount: 1 };
  const viewOf = (s: object) => containerViews({ spec: { containers: [{ name: 'main' }] }, status: { containerStatuses: [{ ...status, ...s }] } })[0];
  t.match(viewOf({ containerID: 'b', state: { running: {} }, lastState: { terminated: { exitCode: 1, containerID: 'a' } } }), { containerID: 'b', lastContainerID: 'a' });
  t.match(viewOf({ state: { terminated: { exitCode: 1, containerID: 'b' } } }), { containerID: 'b' }, 'from the terminated state when the status has none');
  const none = viewOf({ state: { running: {} } });
  t.notOk(none && ('containerID' in none || 'lastContainerID' in none), 'absent when not named');
});

t.test('what may still run', async (t) => {
  const [init, main] = containerViews(pod);
  t.equal(podWillRunNothingMore(pod), false);
  t.equal(podWillRunNothingMore({ ...pod, status: { ...pod.status, phase: 'Succeeded' } }), true);
  t.equal(podWillRunNothingMore({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date() } }), false, 'deleting, but main still runs');
  t.equal(podWillRunNothingMore({ metadata: { deletionTimestamp: new Date() }, spec: { containers: [{ name: 'c' }] } }), true, 'deleting and nothing runs');
  t.equal(mayRestart(pod, init!, 0), false, 'a succeeded init container does not run again');
  t.equal(mayRestart(pod, init!, 1), true);
  t.equal(mayRestart(pod, main!, 1), true, 'OnFailure restarts failures');
  t.equal(mayRestart(pod, main!, 0), false);
  t.equal(mayRestart({ ...pod, spec: { ...pod.spec!, restartPolicy: 'Never' } }, main!, 1), false);
});

t.test('jobRefOf: the owner, else the labels', async (t) => {
  t.same(jobRefOf(pod), { name: 'owner', uid: 'u1' });
  t.same(jobRefOf({ metadata: { labels: { 'job-name': 'python-made' } } }), { name: 'python-made' });
  t.same(jobRefOf({ metadata: { labels: { 'batch.kubernetes.io/job-name': 'new-label' } } }), { name: 'new-label' });
  t.equal(jobRefOf({ metadata: {} }), undefined);
});
