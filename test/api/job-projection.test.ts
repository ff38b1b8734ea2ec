/**
 * What the API's watch cache keeps of Jobs, pods and Events: the status
 * decided from the projections is the one decided from the whole objects,
 * the inputs are not kept, and an annotation too large to keep is named so
 * it can be read on demand.
 */
import t from 'tap';
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { ANNOTATION_BYTES_KEPT, omittedAnnotations, projectEvent, projectJob, projectPod } from '../../api/kube/job-projection.js';
import { statusInfo } from '../../lib/job-status.js';
import { ANNOTATIONS } from '../../lib/contract.js';

const ID = '0b3c7d2e-1111-4222-8333-944455556666';
const inputs = JSON.stringify({ message: 'x'.repeat(20_000) });

function rawJob(status: Record<string, unknown>, annotations: Record<string, string> = {}): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `pygeoapi-job-${ID}`,
      namespace: 'ns',
      uid: 'job-uid',
      resourceVersion: '42',
      creationTimestamp: '2025-03-01T10:00:00Z',
      labels: { 'pygeoapi.io/managed': 'true' },
      annotations: { [ANNOTATIONS.identifier]: ID, [ANNOTATIONS.processId]: 'echo', [ANNOTATIONS.parameters]: inputs, [ANNOTATIONS.inputs]: inputs, ...annotations },
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } }],
    },
    spec: {
      backoffLimit: 1,
      template: { spec: { containers: [{ name: 'main', image: 'busybox', env: [{ name: 'PYGEOAPI_K8S_MANAGER_INPUTS', value: inputs }] }] } },
    },
    status,
  };
}

function rawPod(containerStatuses: unknown[]): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'pod-1',
      namespace: 'ns',
      uid: 'pod-uid',
      creationTimestamp: '2025-03-01T10:00:01Z',
      labels: { 'job-name': `pygeoapi-job-${ID}`, 'controller-uid': 'job-uid' },
      annotations: { big: 'y'.repeat(10_000) },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'node-uid' },
        { apiVersion: 'batch/v1', kind: 'Job', name: `pygeoapi-job-${ID}`, uid: 'job-uid', controller: true },
      ],
    },
    spec: {
      initContainers: [{ name: 'init', image: 'busybox', env: [{ name: 'PYGEOAPI_K8S_MANAGER_INPUTS', value: inputs }] }],
      containers: [{ name: 'main', image: 'busybox', env: [{ name: 'PYGEOAPI_K8S_MANAGER_INPUTS', value: inputs }] }],
    },
    status: { phase: 'Running', containerStatuses },
  };
}

const event = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'e1', namespace: 'ns', uid: 'event-uid', creationTimestamp: '2025-03-01T10:00:02Z' },
  involvedObject: { kind: 'Pod', name: 'pod-1', uid: 'pod-uid', namespace: 'ns' },
  reason: 'Scheduled',
  message: 'assigned to node',
  type: 'Normal',
  lastTimestamp: '2025-03-01T10:00:02Z',
  source: { component: 'scheduler' },
};

const cases: Array<{ name: string; job: Record<string, unknown>; pods: Array<Record<string, unknown>> }> = [
  { name: 'accepted, no pod yet', job: rawJob({}), pods: [] },
  {
    name: 'running',
    job: rawJob({ active: 1, startTime: '2025-03-01T10:00:01Z' }),
    pods: [rawPod([{ name: 'main', image: 'busybox', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: '2025-03-01T10:00:03Z' } } }])],
  },
  {
    name: 'failed with a container message',
    job: rawJob({
      failed: 2,
      startTime: '2025-03-01T10:00:01Z',
      conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'too many failures', lastTransitionTime: '2025-03-01T10:01:00Z' }],
    }),
    pods: [
      rawPod([
        {
          name: 'main',
          image: 'busybox',
          imageID: '',
          ready: false,
          restartCount: 1,
          state: { terminated: { exitCode: 3, reason: 'Error', message: 'boom\n', startedAt: '2025-03-01T10:00:03Z', finishedAt: '2025-03-01T10:00:30Z' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: '2025-03-01T10:00:02Z', finishedAt: '2025-03-01T10:00:02Z' } },
        },
      ]),
    ],
  },
  {
    name: 'waiting on an image that cannot be pulled',
    job: rawJob({ active: 1 }),
    pods: [rawPod([{ name: 'main', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'InvalidImageName', message: 'bad name' } } }])],
  },
  {
    name: 'successful and dismissed later',
    job: rawJob(
      { succeeded: 1, completionTime: '2025-03-01T10:02:00Z', conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2025-03-01T10:02:00Z' }] },
      { [ANNOTATIONS.dismissed]: '2025-03-01T11:00:00.000Z' },
    ),
    pods: [],
  },
];

t.test('the status decided from projections is the status decided from whole objects', async (t) => {
  for (const c of cases) {
    for (const deleted of [false, true]) {
      const whole = {
        job: ObjectSerializer.deserialize(c.job, 'V1Job') as V1Job,
        pods: c.pods.map((p) => ObjectSerializer.deserialize(p, 'V1Pod') as V1Pod),
        events: [ObjectSerializer.deserialize(event, 'CoreV1Event') as CoreV1Event],
        deleted,
      };
      const slim = { job: projectJob(c.job), pods: c.pods.map(projectPod), events: [projectEvent(event)], deleted };
      t.same(statusInfo(slim), statusInfo(whole), `${c.name}${deleted ? ', deleted' : ''}`);
    }
  }
});

t.test('what a Job keeps', async (t) => {
  const job = projectJob(rawJob({ active: 1 }, { [ANNOTATIONS.resultValue]: 'r'.repeat(ANNOTATION_BYTES_KEPT + 1), [ANNOTATIONS.owner]: 'alice' }));
  const annotations = job.metadata?.annotations ?? {};
  t.equal(annotations[ANNOTATIONS.parameters], undefined, 'never the inputs (parameters)');
  t.equal(annotations[ANNOTATIONS.inputs], undefined, 'never the inputs (inputs)');
  t.equal(annotations[ANNOTATIONS.resultValue], undefined, 'not a result larger than the bound');
  t.same(omittedAnnotations(job), [ANNOTATIONS.resultValue], 'but it is named, to be read on demand');
  t.equal(annotations[ANNOTATIONS.owner], 'alice', 'small annotations stay');
  t.same(job.metadata?.labels, { 'pygeoapi.io/managed': 'true' });
  t.equal(job.metadata?.uid, 'job-uid');
  t.equal(job.metadata?.resourceVersion, '42');
  t.equal(job.spec?.template, undefined, 'no pod template (it carries the inputs again)');
  t.equal(job.spec?.backoffLimit, 1);
  t.ok(job.metadata?.creationTimestamp instanceof Date, 'times are Dates, as the client makes them');
  t.same(omittedAnnotations(projectJob(rawJob({}))), [], 'nothing omitted from a Job without large annotations');
  const kept = projectJob(rawJob({}, { [ANNOTATIONS.resultValue]: 'r'.repeat(ANNOTATION_BYTES_KEPT) }));
  t.equal(kept.metadata?.annotations?.[ANNOTATIONS.resultValue]?.length, ANNOTATION_BYTES_KEPT, 'a result at the bound is kept');
  t.ok(JSON.stringify(projectJob(rawJob({}))).length < 1000, 'a Job with 40 kB of inputs is kept in under 1 kB');
});

t.test('what a pod and an Event keep', async (t) => {
  const pod = projectPod(rawPod([]));
  t.same(pod.metadata?.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: `pygeoapi-job-${ID}`, uid: 'job-uid', controller: true }], 'only the Job owner, with its controller flag (pods belong to a Job only through it)');
  t.same(
    [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name),
    ['init', 'main'],
    'container names, in order',
  );
  t.equal(pod.metadata?.annotations, undefined, 'no pod annotations');
  t.equal(pod.spec?.containers[0]?.env, undefined, 'no env (it carries the inputs)');
  const e = projectEvent(event);
  t.same(e.involvedObject, { kind: 'Pod', name: 'pod-1', uid: 'pod-uid' });
  t.equal(e.reason, 'Scheduled');
  t.equal(e.source, undefined);
  t.same(projectJob(null).metadata, {}, 'garbage in, an empty Job out (no crash)');
  t.same(projectPod('x').metadata, {});
});
