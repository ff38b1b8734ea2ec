/**
 * lib/kube/models.ts and lib/kube/objects.ts against client-node: the model
 * table is closed (every model a listed model holds is listed, as
 * client-node's own type map has it) and the codec converts full objects
 * exactly as client-node's ObjectSerializer does.
 */
import t from 'tap';
import * as all from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import type { V1Job } from '@kubernetes/client-node';
import { MODELS, type Model } from '../../lib/kube/models.js';
import { fromWire, toWire, type ModelName } from '../../lib/kube/objects.js';
import { shippedWebhookConfiguration } from '../../cmd/local/register-webhook.js';

const clientModels = all as unknown as Record<string, Model | undefined>;

function innerType(type: string): string {
  const wrapped = /^Array<(.+)>$/.exec(type) ?? /^\{ \[key: string\]: (.+); \}$/.exec(type);
  return wrapped ? innerType(wrapped[1]!) : type;
}

t.test('the model table is client-node\'s models, closed under what they hold', async (t) => {
  const table = MODELS as Record<string, Model>;
  for (const root of ['V1Job', 'V1Pod', 'CoreV1Event', 'V1MutatingWebhookConfiguration', 'V1Container', 'V1PodSecurityContext', 'V1SecurityContext', 'V1Affinity']) t.ok(root in table, `${root} is listed`);
  const missing: string[] = [];
  const unlike: string[] = [];
  for (const [name, model] of Object.entries(table)) {
    if (clientModels[name] !== model) missing.push(`${name} is not client-node's ${name}`);
    for (const attribute of model.attributeTypeMap) {
      const type = innerType(attribute.type);
      if (typeof clientModels[type] === 'function' && !(type in table)) missing.push(`${name}.${attribute.name}: ${type}`);
      // What the codec leaves to client-node's serializer alone: dates without time, unions, polymorphic models.
      if (attribute.type === 'Date' && attribute.format === 'date') unlike.push(`${name}.${attribute.name} is a date`);
      if (attribute.type.includes('|')) unlike.push(`${name}.${attribute.name}: ${attribute.type}`);
    }
    if ((model as { discriminator?: unknown }).discriminator) unlike.push(`${name} has a discriminator`);
  }
  t.same(missing, [], 'every model a listed model holds is listed');
  t.same(unlike, [], 'no model needs what the codec does not do');
});

const stamp = '2026-01-02T03:04:05Z';
const rawJob = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  unknownTopLevel: 'dropped',
  metadata: {
    name: 'job-1',
    namespace: 'default',
    uid: 'u-1',
    resourceVersion: '42',
    creationTimestamp: stamp,
    deletionTimestamp: stamp,
    labels: { a: 'b' },
    annotations: { 'x/y': 'z' },
    finalizers: ['f'],
    ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u', controller: true }],
    managedFields: [{ manager: 'm', operation: 'Update', apiVersion: 'batch/v1', time: stamp, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
  },
  spec: {
    backoffLimit: 0,
    activeDeadlineSeconds: 60,
    ttlSecondsAfterFinished: 10,
    suspend: true,
    template: {
      metadata: { labels: { c: 'd' }, creationTimestamp: null },
      spec: {
        restartPolicy: 'Never',
        serviceAccountName: 'sa',
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }],
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
        affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'k', operator: 'Exists' }] } }] } },
        volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '100Mi' } }, { name: 's', secret: { secretName: 's', items: [{ key: 'a', path: 'b' }] } }],
        initContainers: [{ name: 'prepare', image: 'busybox', command: ['sh'], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }], misspelt_field: 1 }],
        containers: [
          {
            name: 'c',
            image: 'x',
            args: ['a'],
            env: [{ name: 'A', value: 'b' }, { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
            resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '100m' } },
            readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 5 },
            livenessProbe: { tcpSocket: { port: 'http' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  },
  status: {
    active: 1,
    startTime: stamp,
    completionTime: stamp,
    conditions: [{ type: 'Complete', status: 'True', lastProbeTime: stamp, lastTransitionTime: stamp, reason: 'r', message: 'm' }],
    uncountedTerminatedPods: { succeeded: ['u'] },
  },
};

const rawEvent = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'e', namespace: 'default', creationTimestamp: stamp },
  involvedObject: { apiVersion: 'batch/v1', kind: 'Job', name: 'job-1', uid: 'u-1' },
  reason: 'R',
  message: 'M',
  type: 'Normal',
  source: { component: 'c' },
  firstTimestamp: stamp,
  lastTimestamp: stamp,
  eventTime: '2026-01-02T03:04:05.123456Z',
  series: { count: 2, lastObservedTime: '2026-01-02T03:04:05.123456Z' },
  count: 1,
};

/** A job pod as the controller watches it: deleted, one container restarted, one waiting (every status date set). */
const rawPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'job-1-abcde',
    namespace: 'default',
    uid: 'p-1',
    creationTimestamp: stamp,
    deletionTimestamp: stamp,
    deletionGracePeriodSeconds: 30,
    finalizers: ['pygeoapi.io/finalizer-log-retrieval'],
    labels: { 'job-name': 'job-1' },
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'job-1', uid: 'u-1', controller: true }],
  },
  spec: { restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'x' }], nodeName: 'node-1' },
  status: {
    phase: 'Running',
    podIP: '10.0.0.2',
    podIPs: [{ ip: '10.0.0.2' }],
    hostIP: '192.168.0.1',
    hostIPs: [{ ip: '192.168.0.1' }],
    startTime: stamp,
    conditions: [{ type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: stamp, reason: 'r' }],
    initContainerStatuses: [
      { name: 'prepare', image: 'busybox', imageID: 'sha', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: stamp, finishedAt: stamp, containerID: 'local://1' } } },
    ],
    containerStatuses: [
      {
        name: 'main',
        image: 'x',
        imageID: 'sha',
        ready: true,
        started: true,
        restartCount: 1,
        containerID: 'local://3',
        state: { running: { startedAt: stamp } },
        lastState: { terminated: { exitCode: 1, signal: 9, reason: 'Error', message: 'm', startedAt: stamp, finishedAt: stamp, containerID: 'local://2' } },
        volumeMounts: [{ name: 'v', mountPath: '/v', readOnly: true }],
        user: { linux: { uid: 1000, gid: 1000, supplementalGroups: [1] } },
        allocatedResourcesStatus: [{ name: 'claim:gpu', resources: [{ resourceID: 'r', health: 'Healthy' }] }],
      },
      { name: 'side', image: 'y', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
    ],
    qosClass: 'BestEffort',
  },
};

const cases: Array<[ModelName, unknown]> = [
  ['V1Job', rawJob],
  ['V1Pod', rawPod],
  ['CoreV1Event', rawEvent],
  ['V1MutatingWebhookConfiguration', JSON.parse(JSON.stringify({ ...shippedWebhookConfiguration(), metadata: { name: 'w', creationTimestamp: stamp } }))],
];

t.test('objects convert as client-node converts them, both ways', async (t) => {
  for (const [model, raw] of cases) {
    const typed = fromWire<unknown>(raw, model);
    t.same(typed, ObjectSerializer.deserialize(raw, model), `${model} from the wire`);
    t.same(toWire(typed, model), ObjectSerializer.serialize(typed, model), `${model} to the wire`);
    t.equal(JSON.stringify(toWire(typed, model)), JSON.stringify(ObjectSerializer.serialize(typed, model)), `${model}: the same bytes`);
  }
  const job = fromWire<V1Job>(rawJob, 'V1Job');
  t.ok(job.metadata?.creationTimestamp instanceof Date, 'timestamps become Dates');
  t.ok(job.status?.conditions?.[0]?.lastTransitionTime instanceof Date, 'in lists too');
  t.equal(job.metadata?.managedFields?.[0]?.time?.toISOString(), '2026-01-02T03:04:05.000Z');
  t.notOk('unknownTopLevel' in job, 'fields a model does not list are dropped');
  t.notOk('misspelt_field' in (job.spec!.template.spec!.initContainers![0]! as object), 'nested too');
  t.equal(job.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.port, 8080, 'int-or-string passes through');
  t.equal((toWire(job, 'V1Job') as { status: { startTime: unknown } }).status.startTime, '2026-01-02T03:04:05.000Z', 'Dates are written as ISO 8601');
});
