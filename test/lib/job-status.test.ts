/**
 * The OGC status of a job from its Kubernetes objects: one table of Job,
 * pod and Event combinations with the status document each must give.
 */
import t from 'tap';
import type { CoreV1Event, V1ContainerStatus, V1Job, V1JobCondition, V1Pod } from '@kubernetes/client-node';
import { decideStatus, jobFinished, jobIdOf, statusInfo, type JobObjects, type StatusInfo } from '../../lib/job-status.js';
import { expectOgc } from '../helpers/ogc-schemas.js';

const ID = '0b3c7d2e-1111-4222-8333-944455556666';
const NAME = `pygeoapi-job-${ID}`;
const T0 = '2025-03-01T10:00:00.000Z';
const T1 = '2025-03-01T10:00:05.000Z';
const T2 = '2025-03-01T10:00:09.000Z';
const T3 = '2025-03-01T10:00:12.000Z';
const T4 = '2025-03-01T10:00:20.000Z';

function job(
  status: V1Job['status'] = {},
  meta: { name?: string; labels?: Record<string, string> | null; annotations?: Record<string, string>; created?: string | null; backoffLimit?: number } = {},
): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: meta.name ?? NAME,
      uid: 'job-uid',
      ...(meta.created === null ? {} : { creationTimestamp: new Date(meta.created ?? T0) }),
      ...(meta.labels === null ? {} : { labels: meta.labels ?? { 'pygeoapi.io/managed': 'true' } }),
      annotations: meta.annotations ?? { 'pygeoapi.io/identifier': ID, 'pygeoapi.io/process_id': 'echo' },
    },
    spec: { backoffLimit: meta.backoffLimit ?? 0, template: { spec: { containers: [] } } },
    status,
  };
}

function cond(type: string, reason?: string, message?: string, at = T3, status = 'True'): V1JobCondition {
  return { type, status, ...(reason ? { reason } : {}), ...(message ? { message } : {}), lastTransitionTime: new Date(at) };
}

type State = NonNullable<V1ContainerStatus['state']>;

function pod(containers: Array<[string, State]>, init: Array<[string, State]> = []): V1Pod {
  const statuses = (list: Array<[string, State]>): V1ContainerStatus[] =>
    list.map(([name, state]) => ({ name, state, image: 'x', imageID: '', ready: false, restartCount: 0 }));
  return {
    metadata: { name: `${NAME}-abcde`, uid: 'pod-uid' },
    status: { containerStatuses: statuses(containers), ...(init.length ? { initContainerStatuses: statuses(init) } : {}) },
  };
}

const waiting = (reason: string, message?: string): State => ({ waiting: { reason, ...(message ? { message } : {}) } });
const running = (at = T1): State => ({ running: { startedAt: new Date(at) } });
const terminated = (exitCode: number, reason: string, startedAt = T1, finishedAt = T2, message?: string): State => ({
  terminated: { exitCode, reason, startedAt: new Date(startedAt), finishedAt: new Date(finishedAt), ...(message ? { message } : {}) },
});

function event(reason: string, message: string, at: string, uid = `ev-${reason}-${at}`): CoreV1Event {
  return { metadata: { uid }, involvedObject: { uid: 'pod-uid' }, reason, message, lastTimestamp: new Date(at) };
}

interface Case {
  name: string;
  objects: JobObjects;
  want: Partial<StatusInfo> & { status: StatusInfo['status'] };
  /** Substrings the message must contain. */
  message?: Array<string | RegExp>;
  /** Keys that must be absent from the document. */
  absent?: Array<keyof StatusInfo>;
}

const cases: Case[] = [
  {
    name: 'a new Job without pods is accepted',
    objects: { job: job(), pods: [], events: [] },
    want: { status: 'accepted', jobID: ID, processID: 'echo', created: T0, updated: T0, progress: 0 },
    message: [/waiting for a pod/],
    absent: ['started', 'finished'],
  },
  {
    name: 'an image pull error is the message of an accepted job',
    objects: { job: job(), pods: [pod([['main', waiting('ErrImagePull', 'rpc error: pull access denied for nope:1')]])], events: [] },
    want: { status: 'accepted', progress: 0 },
    message: ['container "main"', 'ErrImagePull', 'pull access denied'],
    absent: ['started', 'finished'],
  },
  {
    name: 'ImagePullBackOff in an init container is reported too',
    objects: { job: job(), pods: [pod([['main', waiting('PodInitializing')]], [['prepare', waiting('ImagePullBackOff', 'Back-off pulling image')]])], events: [] },
    want: { status: 'accepted' },
    message: ['container "prepare"', 'ImagePullBackOff'],
  },
  {
    name: 'an invalid image name can never start: failed, with the reason',
    objects: { job: job(), pods: [pod([['main', waiting('InvalidImageName', 'couldn\'t parse image name "UPPER:case"')]])], events: [] },
    want: { status: 'failed', progress: 100 },
    message: ['the pod cannot start', 'container "main"', 'InvalidImageName', 'UPPER:case'],
  },
  {
    name: 'ErrImageNeverPull in an init container: failed',
    objects: { job: job(), pods: [pod([['main', waiting('PodInitializing')]], [['prepare', waiting('ErrImageNeverPull', 'image not present with pull policy Never')]])], events: [] },
    want: { status: 'failed' },
    message: ['container "prepare"', 'ErrImageNeverPull'],
  },
  {
    name: 'CreateContainerConfigError (missing Secret) is reported',
    objects: { job: job(), pods: [pod([['main', waiting('CreateContainerConfigError', 'secret "example-secret" not found')]])], events: [] },
    want: { status: 'accepted' },
    message: ['CreateContainerConfigError', 'secret "example-secret" not found'],
  },
  {
    name: 'while containers are only being created, the latest Event is the message',
    objects: {
      job: job(),
      pods: [pod([['main', waiting('ContainerCreating')]])],
      // Listed newest first on purpose: the message must come from the newest, not the last listed.
      events: [event('FailedScheduling', '0/3 nodes are available: insufficient memory', T2), event('Scheduled', 'assigned to node-1', T1)],
    },
    want: { status: 'accepted', updated: T2 },
    message: ['FailedScheduling', 'insufficient memory'],
  },
  {
    name: 'a running container makes the job running, started is its start',
    objects: { job: job({ active: 1 }), pods: [pod([['main', running(T1)]])], events: [] },
    want: { status: 'running', started: T1 },
    absent: ['finished', 'progress'],
  },
  {
    name: 'started is the first container start (init container before main)',
    objects: { job: job({ active: 1 }), pods: [pod([['main', running(T2)]], [['prepare', terminated(0, 'Completed', T1, T2)]])], events: [] },
    want: { status: 'running', started: T1 },
  },
  {
    name: 'the Complete condition makes it successful; finished is the completion time',
    objects: {
      job: job({ succeeded: 1, completionTime: new Date(T3), conditions: [cond('SuccessCriteriaMet', 'CompletionsReached', undefined, T3), cond('Complete', 'CompletionsReached', undefined, T3)] }),
      pods: [pod([['main', terminated(0, 'Completed', T1, T2)]])],
      events: [],
    },
    want: { status: 'successful', created: T0, started: T1, finished: T3, updated: T3, progress: 100, message: 'Completed' },
  },
  {
    name: "a successful job's message is the container's reason and termination message, as the Python manager gives it",
    objects: {
      job: job({ succeeded: 1, conditions: [cond('Complete', 'CompletionsReached', undefined, T3)] }),
      pods: [pod([['main', terminated(0, 'Completed', T1, T2, 'wrote 3 files\n')]])],
      events: [],
    },
    want: { status: 'successful', message: 'Completed: wrote 3 files' },
  },
  {
    name: 'SuccessCriteriaMet alone (before Complete is added) is already successful',
    objects: { job: job({ succeeded: 1, conditions: [cond('SuccessCriteriaMet', 'CompletionsReached', undefined, T3)] }), pods: [], events: [] },
    want: { status: 'successful', finished: T3, message: 'Completed' },
  },
  {
    name: 'a failed Job names the condition and the container exit code',
    objects: {
      job: job({ failed: 1, conditions: [cond('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', T3), cond('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', T4)] }),
      pods: [pod([['main', terminated(3, 'Error', T1, T2, 'boom\n')]])],
      events: [],
    },
    want: { status: 'failed', started: T1, progress: 100 },
    message: ['BackoffLimitExceeded', 'backoff limit', 'container "main"', 'exit code 3', 'boom'],
  },
  {
    name: 'finished of a failed Job without completionTime is the Failed condition time',
    objects: { job: job({ failed: 1, conditions: [cond('Failed', 'BackoffLimitExceeded', 'limit', T4)] }), pods: [pod([['main', terminated(1, 'Error')]])], events: [] },
    want: { status: 'failed', finished: T4, updated: T4 },
  },
  {
    name: 'DeadlineExceeded is a failure with its reason',
    objects: {
      job: job({ failed: 1, conditions: [cond('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline', T4)] }),
      pods: [pod([['main', terminated(137, 'Error', T1, T4)]])],
      events: [],
    },
    want: { status: 'failed', finished: T4 },
    message: ['DeadlineExceeded', 'longer than specified deadline', 'exit code 137'],
  },
  {
    name: 'FailureTarget alone (pods still terminating) is already failed',
    objects: { job: job({ conditions: [cond('FailureTarget', 'BackoffLimitExceeded', 'limit', T3)] }), pods: [pod([['main', running()]])], events: [] },
    want: { status: 'failed' },
    message: ['BackoffLimitExceeded'],
  },
  {
    name: 'a condition with status False does not count',
    objects: { job: job({ active: 1, conditions: [cond('Failed', 'X', 'not really', T3, 'False')] }), pods: [pod([['main', running()]])], events: [] },
    want: { status: 'running' },
  },
  {
    name: 'the dismissed annotation wins over everything; finished is the dismissal time',
    objects: {
      job: job({ active: 1 }, { annotations: { 'pygeoapi.io/identifier': ID, 'pygeoapi.io/process_id': 'echo', 'pygeoapi.io/dismissed': T2 } }),
      pods: [pod([['main', running()]])],
      events: [],
    },
    want: { status: 'dismissed', finished: T2, progress: 100 },
    message: ['dismissed'],
  },
  {
    name: "a Python manager's Job (no label, no conditions, succeeded count) is successful",
    objects: {
      job: job({ succeeded: 1 }, { labels: null, annotations: { 'pygeoapi.io/identifier': 'py-job-1', 'pygeoapi.io/process_id': 'hello-world-k8s' }, name: 'pygeoapi-job-py-job-1' }),
      pods: [],
      events: [],
    },
    want: { status: 'successful', jobID: 'py-job-1', processID: 'hello-world-k8s' },
  },
  {
    name: 'without conditions, failures beyond backoffLimit mean failed',
    objects: { job: job({ failed: 3, active: 0 }, { backoffLimit: 2 }), pods: [pod([['main', terminated(2, 'Error')]])], events: [] },
    want: { status: 'failed' },
    message: ['exit code 2'],
  },
  {
    name: 'without conditions, failures within backoffLimit are not final',
    objects: { job: job({ failed: 1, active: 1 }, { backoffLimit: 2 }), pods: [pod([['main', running()]])], events: [] },
    want: { status: 'running' },
  },
  {
    name: 'without a creationTimestamp, created is the started annotation (read as a time, written like every other time)',
    objects: {
      job: job({}, { created: null, annotations: { 'pygeoapi.io/identifier': ID, 'pygeoapi.io/started': '2025-03-01T09:59:59.123000Z' } }),
      pods: [],
      events: [],
    },
    want: { status: 'accepted', created: '2025-03-01T09:59:59.123Z' },
    absent: ['processID'],
  },
  {
    name: 'an older webhook\'s millisecond started annotation reads the same',
    objects: { job: job({}, { created: null, annotations: { 'pygeoapi.io/identifier': ID, 'pygeoapi.io/started': '2025-03-01T09:59:59.123Z' } }), pods: [], events: [] },
    want: { status: 'accepted', created: '2025-03-01T09:59:59.123Z' },
  },
  {
    name: 'a started annotation that is not a time is not passed on',
    objects: { job: job({}, { created: null, annotations: { 'pygeoapi.io/identifier': ID, 'pygeoapi.io/started': 'yesterday' } }), pods: [], events: [] },
    want: { status: 'accepted' },
    absent: ['created'],
  },
];

t.test('status documents from Kubernetes objects', async (t) => {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const info = statusInfo(c.objects);
      t.match(info, { type: 'process', jobID: ID, ...c.want }, 'document fields');
      t.equal(decideStatus(c.objects).status, c.want.status, 'decideStatus agrees');
      for (const part of c.message ?? []) t.match(info.message ?? '', part, `message has ${String(part)}`);
      for (const key of c.absent ?? []) t.notOk(key in info, `no ${key}`);
      t.ok(info.progress === undefined || Number.isInteger(info.progress), 'progress is absent or an integer');
      expectOgc(t, 'statusInfo', info, 'valid OGC statusInfo');
      const times = [info.created, info.started, info.finished].filter((v): v is string => v !== undefined).map(Date.parse);
      if (info.updated) t.ok(times.every((v) => v <= Date.parse(info.updated!)), 'updated is not before created/started/finished');
    });
  }
});

t.test('the job id: identifier annotation, else the id in the name, else the name', async (t) => {
  const rows: Array<[string, V1Job, string, string | undefined]> = [
    ['annotation wins', job({}, { name: 'pygeoapi-job-other', annotations: { 'pygeoapi.io/identifier': 'from-annotation' } }), 'from-annotation', undefined],
    ['id from the default prefix', job({}, { name: 'pygeoapi-job-abc', annotations: {} }), 'abc', undefined],
    ['id from a custom prefix', job({}, { name: 'team-a-xyz', annotations: {} }), 'xyz', 'team-a-'],
    ['a foreign name stays the name', job({}, { name: 'kubectl-made', annotations: {} }), 'kubectl-made', undefined],
  ];
  for (const [what, j, want, prefix] of rows) t.equal(prefix ? jobIdOf(j, prefix) : jobIdOf(j), want, what);
});

t.test('a Job deleted before it finished is dismissed; finished ones keep their outcome', async (t) => {
  const base = { metadata: { name: 'pygeoapi-job-d', creationTimestamp: new Date('2026-01-01T00:00:00Z'), deletionTimestamp: new Date('2026-01-01T00:05:00Z') } };
  const running = { ...base, status: { active: 1 } };
  t.equal(statusInfo({ job: running, pods: [], events: [], deleted: true }).status, 'dismissed');
  t.equal(statusInfo({ job: running, pods: [], events: [], deleted: true }).finished, '2026-01-01T00:05:00.000Z', 'finished when it was deleted');
  t.equal(statusInfo({ job: running, pods: [], events: [] }).status, 'accepted', 'not deleted: still in progress (no pod running)');
  const complete = { ...base, status: { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: new Date('2026-01-01T00:01:00Z') }] } };
  t.equal(statusInfo({ job: complete, pods: [], events: [], deleted: true }).status, 'successful');
  t.equal(jobFinished(complete), true);
  t.equal(jobFinished(running), false);
  t.equal(statusInfo({ job: { ...running, status: { startTime: new Date('2026-01-01T00:00:30Z') } }, pods: [], events: [] }).started, '2026-01-01T00:00:30.000Z', 'started from the Job when no pod tells');
});

t.test("a successful job's message, exactly as the Python manager words it", async (t) => {
  const done = job({ succeeded: 1, conditions: [cond('Complete', 'CompletionsReached', undefined, T3)] });
  const rows: Array<[string, V1Pod[], string]> = [
    ['the container reason', [pod([['main', terminated(0, 'Completed')]])], 'Completed'],
    ['reason and termination message', [pod([['main', terminated(0, 'Completed', T1, T2, 'wrote 3 files\n')]])], 'Completed: wrote 3 files'],
    ['the pods are gone', [], 'Completed'],
    ['the first container of the pod, not a sidecar', [{ ...pod([['sidecar', terminated(0, 'Sidecar done')], ['main', terminated(0, 'Completed')]]), spec: { containers: [{ name: 'main' }, { name: 'sidecar' }] } }], 'Completed'],
  ];
  for (const [what, pods, want] of rows) t.equal(statusInfo({ job: done, pods, events: [] }).message, want, what);
  t.equal(statusInfo({ job: job({ succeeded: 1 }), pods: [], events: [] }).message, 'Completed', 'a Job without conditions (Python manager, older API server)');
});
