/**
 * The Job an execution creates: valid against the Kubernetes schema, with
 * the contract's labels, annotations and environment in every container,
 * the process's settings, the hardened security contexts, the lifetime, the
 * finalizer only when logs are archived — and never the token.
 */
import t from 'tap';
import path from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import type { V1Container, V1Job } from '@kubernetes/client-node';
import { buildJob, type JobRequest } from '../../api/execution/job-manifest.js';
import { validateInputs } from '../../api/execution/inputs.js';
import { loadConfigFile } from '../../lib/config/index.js';
import type { ManagerConfig, ProcessDefinition } from '../../lib/config/types.js';
import { API_FIXTURES, SHIPPED_CONFIG } from '../helpers/api-processes.js';

const TOKEN = 'tok-3f9a1c7e-never-in-a-job';
const JOB_ID = '6a1f6c2e-5b7d-4c1e-9f00-0123456789ab';
const NOW = new Date('2025-03-01T10:00:00.123Z');

function config(file: string, env: Record<string, string> = {}): ManagerConfig {
  return loadConfigFile(file, { PYGEOAPI_K8S_MANAGER_API_TOKEN: TOKEN, ...env }).config;
}

function processOf(cfg: ManagerConfig, id: string): ProcessDefinition {
  const found = cfg.processes.find((p) => p.id === id);
  if (!found) throw new Error(`no process ${id} in ${cfg.file}`);
  return found;
}

function build(process: ProcessDefinition, inputs: Record<string, unknown>, extra: Partial<JobRequest> = {}): V1Job {
  return buildJob({ process, jobId: JOB_ID, inputs, namespace: 'jobs', jobNamePrefix: 'pygeoapi-job-', archiveLogs: false, now: NOW, ...extra });
}

function allContainers(job: V1Job): V1Container[] {
  return [...(job.spec?.template.spec?.initContainers ?? []), ...(job.spec?.template.spec?.containers ?? [])];
}

function envOf(container: V1Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
}

/** kubernetes-models' schema check of a batch/v1 Job; returns the error message or undefined. */
function kubernetesSchemaError(job: V1Job): string | undefined {
  try {
    new Job(job as ConstructorParameters<typeof Job>[0]).validate();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const shipped = config(SHIPPED_CONFIG);
const FIXTURE_CONFIG = path.join(API_FIXTURES, 'test-processes.yaml');
const fixtures = config(FIXTURE_CONFIG);

t.test('the Kubernetes schema check rejects a broken Job', async (t) => {
  const job = build(processOf(shipped, 'echo'), { stringInput: 'x' });
  const broken = { ...job, spec: { ...job.spec!, backoffLimit: 'none' as unknown as number } };
  t.ok(kubernetesSchemaError(broken), 'a string backoffLimit is an error');
});

t.test('every process gives a Job that is valid for Kubernetes and carries the contract', async (t) => {
  const inputsFor: Record<string, Record<string, unknown>> = {
    'hello-world-k8s': { name: 'World', message: 'hi' },
    echo: { stringInput: 'Hello', pause: 1 },
    'generic-image-example': { token: TOKEN, name: 'World' },
    'generic-inputs': { token: TOKEN, name: 'x', count: 2 },
    'generic-json': {},
    'generic-fail': {},
    'generic-sleep': {},
  };
  for (const process of [...shipped.processes, ...fixtures.processes]) {
    t.test(process.id, async (t) => {
      const given = inputsFor[process.id];
      if (!given) return t.fail(`no inputs for ${process.id} in this test`);
      const inputs = validateInputs(process, given);
      const job = build(process, inputs);
      t.equal(kubernetesSchemaError(job), undefined, 'kubernetes-models validates the Job');
      t.equal(job.metadata?.name, `pygeoapi-job-${JOB_ID}`, 'name is prefix + job id');
      t.equal(job.metadata?.namespace, 'jobs');
      t.same(job.metadata?.labels, { 'pygeoapi.io/managed': 'true' }, 'managed label on the Job');
      t.same(job.spec?.template.metadata?.labels, { 'pygeoapi.io/managed': 'true' }, 'managed label on the pod template');
      t.match(
        job.metadata?.annotations,
        {
          'pygeoapi.io/identifier': JOB_ID,
          'pygeoapi.io/process_id': process.id,
          'pygeoapi.io/started': '2025-03-01T10:00:00.123000Z',
          'pygeoapi.io/updated': '2025-03-01T10:00:00.123000Z',
          'pygeoapi.io/mimetype': process.mimetype,
          'pygeoapi.io/job-name': `pygeoapi-job-${JOB_ID}`,
          'pygeoapi.io/parameters': JSON.stringify(inputs),
        },
        'annotations of the Python manager',
      );
      t.match(job.spec?.template.metadata?.annotations, { 'pygeoapi.io/identifier': JOB_ID, 'pygeoapi.io/process_id': process.id }, 'pod annotations');
      t.equal(job.spec?.template.spec?.restartPolicy, 'Never');
      t.equal(job.spec?.backoffLimit, process.backoffLimit);
      t.equal(job.spec?.ttlSecondsAfterFinished, process.ttlSecondsAfterFinished, 'ttl from the process or the default');
      t.not(job.spec?.ttlSecondsAfterFinished, 100 * 24 * 3600, 'not the Python manager’s hard-coded 100 days');
      const containers = allContainers(job);
      t.ok(containers.length >= 1);
      for (const c of containers) {
        const env = envOf(c);
        t.equal(env.PYGEOAPI_K8S_MANAGER_INPUTS, JSON.stringify(inputs), `${c.name}: inputs`);
        t.equal(env.PYGEOAPI_JOB_ID, JOB_ID, `${c.name}: job id`);
        t.equal(env.PYGEOAPI_PROCESS_ID, process.id, `${c.name}: process id`);
        t.equal((c.env ?? []).filter((e) => e.name === 'PYGEOAPI_JOB_ID').length, 1, `${c.name}: one PYGEOAPI_JOB_ID`);
        t.ok(c.command?.length, `${c.name}: has a command`);
      }
      t.notOk(JSON.stringify(job).includes(TOKEN), 'the token is nowhere in the Job');
    });
  }
});

t.test('built-in processes never splice inputs into their command', async (t) => {
  const hostile = `'; touch /tmp/pwned; echo '$(id)\`id\``;
  for (const [id, inputs] of [
    ['hello-world-k8s', { name: hostile, message: hostile }],
    ['echo', { stringInput: hostile }],
  ] as const) {
    const job = build(processOf(shipped, id), inputs);
    const main = job.spec!.template.spec!.containers[0]!;
    t.notOk(JSON.stringify([main.command, main.args]).includes('pwned'), `${id}: the input is not in command/args`);
    t.match(envOf(main).PYGEOAPI_K8S_MANAGER_INPUTS, 'pwned', `${id}: it reaches the job only through the environment`);
    t.equal(main.command?.[0], 'python3', `${id}: runs python, not a shell`);
  }
});

t.test('the settings of a GenericImageProcessor reach the Job', async (t) => {
  const process = processOf(shipped, 'generic-image-example');
  const job = build(process, { name: 'World' });
  const pod = job.spec!.template.spec!;
  const main = pod.containers[0]!;
  t.equal(main.name, 'generic-image-processor');
  t.equal(main.image, 'python:3.13-alpine');
  t.same(main.command, ['python3', '-c']);
  t.match(main.args?.[0], 'PYGEOAPI_K8S_MANAGER_RESULT_START');
  t.same(main.resources, { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } }, 'resources');
  t.match(main.env, [{ name: 'LOG_LEVEL', value: 'INFO' }, { name: 'EXAMPLE_API_KEY', valueFrom: { secretKeyRef: { name: 'example-secret', key: 'api-key' } } }], 'env: literal and Secret reference, in order');
  t.same(
    pod.volumes,
    [
      { name: 'data', persistentVolumeClaim: { claimName: 'example-data' } },
      { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '100Mi' } },
    ],
    'storage → volumes',
  );
  t.same(main.volumeMounts, [{ name: 'data', mountPath: '/data' }, { name: 'scratch', mountPath: '/scratch' }], 'storage → mounts of the main container');
  t.match(pod.initContainers, [{ name: 'prepare', image: 'busybox:1.37', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }], 'init containers as configured');
  t.same(pod.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'processing', effect: 'NoSchedule' }]);
  t.same(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
  t.match(pod.affinity, { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1 }] } });
  t.same(pod.imagePullSecrets, undefined, 'no pull secrets (the list is empty)');
  t.equal(pod.serviceAccountName, 'default');
  t.same(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } }, 'pod security context from the process');
  for (const c of allContainers(job)) {
    t.same(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, `${c.name}: container security context from the process`);
  }
  t.equal(job.spec?.backoffLimit, 0);
  t.equal(job.spec?.ttlSecondsAfterFinished, 86400);
  t.equal(job.spec?.activeDeadlineSeconds, 3600);
  t.equal(pod.enableServiceLinks, false);
  t.equal(kubernetesSchemaError(job), undefined);
});

t.test('image pull secrets become references', async (t) => {
  const process = { ...processOf(fixtures, 'generic-json'), imagePullSecrets: ['registry-a', 'registry-b'] };
  t.same(build(process, {}).spec?.template.spec?.imagePullSecrets, [{ name: 'registry-a' }, { name: 'registry-b' }]);
});

t.test('hardened default security contexts, in every container and init container', async (t) => {
  const job = build(processOf(fixtures, 'generic-inputs'), { name: 'x' });
  const pod = job.spec!.template.spec!;
  t.same(pod.securityContext, { seccompProfile: { type: 'RuntimeDefault' } }, 'pod: seccomp RuntimeDefault');
  const names = allContainers(job).map((c) => c.name);
  t.same(names, ['prepare', 'generic-image-processor'], 'init and main container');
  for (const c of allContainers(job)) {
    t.same(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, `${c.name}: no privilege escalation, all capabilities dropped`);
  }
  const env = envOf(pod.containers[0]!);
  t.equal(env.GREETING, 'hello', 'configured env is kept');
  t.match(pod.containers[0]!.env, [{ name: 'GREETING' }, { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'test-secret', key: 'api-key' } } }]);
  t.equal(job.spec?.activeDeadlineSeconds, 120, 'active deadline from the process');
});

t.test('security contexts and lifetime from the environment', async (t) => {
  const rows: Array<[string, Record<string, string>, (job: V1Job) => void]> = [
    [
      'security contexts switched off',
      { PYGEOAPI_K8S_MANAGER_JOB_POD_SECURITY_CONTEXT: 'off', PYGEOAPI_K8S_MANAGER_JOB_CONTAINER_SECURITY_CONTEXT: 'none' },
      (job) => {
        t.equal(job.spec?.template.spec?.securityContext, undefined, 'no pod security context');
        for (const c of allContainers(job)) t.equal(c.securityContext, undefined, `${c.name}: no container security context`);
      },
    ],
    [
      'security contexts from the environment',
      {
        PYGEOAPI_K8S_MANAGER_JOB_POD_SECURITY_CONTEXT: '{"runAsNonRoot":true,"fsGroup":2000}',
        PYGEOAPI_K8S_MANAGER_JOB_CONTAINER_SECURITY_CONTEXT: '{"privileged":false,"readOnlyRootFilesystem":true}',
      },
      (job) => {
        t.same(job.spec?.template.spec?.securityContext, { runAsNonRoot: true, fsGroup: 2000 });
        for (const c of allContainers(job)) t.same(c.securityContext, { privileged: false, readOnlyRootFilesystem: true }, c.name);
      },
    ],
    [
      'default lifetime from the environment',
      { PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED: '600', PYGEOAPI_K8S_MANAGER_DEFAULT_ACTIVE_DEADLINE_SECONDS: '900' },
      (job) => {
        t.equal(job.spec?.ttlSecondsAfterFinished, 600);
        t.equal(job.spec?.activeDeadlineSeconds, 900);
      },
    ],
    [
      'no deadline unless configured, ttl of seven days',
      {},
      (job) => {
        t.equal(job.spec?.ttlSecondsAfterFinished, 7 * 24 * 3600);
        t.notOk('activeDeadlineSeconds' in (job.spec ?? {}), 'no activeDeadlineSeconds');
      },
    ],
  ];
  for (const [what, env, check] of rows) {
    t.test(what, async () => {
      const cfg = config(FIXTURE_CONFIG, env);
      const job = build(processOf(cfg, 'generic-json'), {});
      check(job);
      t.equal(kubernetesSchemaError(job), undefined, 'still a valid Job');
    });
  }
  t.test('the process lifetime wins over the environment default', async (t) => {
    const cfg = config(SHIPPED_CONFIG, { PYGEOAPI_K8S_MANAGER_DEFAULT_TTL_SECONDS_AFTER_FINISHED: '600' });
    t.equal(build(processOf(cfg, 'echo'), { stringInput: 'x' }).spec?.ttlSecondsAfterFinished, 3600, 'echo: ttl_seconds_after_finished 3600');
    t.equal(build(processOf(cfg, 'hello-world-k8s'), { name: 'x' }).spec?.ttlSecondsAfterFinished, 600, 'hello-world-k8s: the default');
  });
});

t.test('the log finalizer is on the pod template only when logs are archived', async (t) => {
  const process = processOf(shipped, 'echo');
  const without = build(process, { stringInput: 'x' }, { archiveLogs: false });
  const withFinalizer = build(process, { stringInput: 'x' }, { archiveLogs: true });
  t.notOk(without.spec?.template.metadata?.finalizers, 'no finalizer without the controller');
  t.same(withFinalizer.spec?.template.metadata?.finalizers, ['pygeoapi.io/finalizer-log-retrieval'], 'the finalizer with it');
  t.notOk(withFinalizer.metadata?.finalizers, 'never on the Job itself');
  t.equal(kubernetesSchemaError(withFinalizer), undefined);
});

t.test('a custom job name prefix', async (t) => {
  const job = build(processOf(shipped, 'echo'), { stringInput: 'x' }, { jobNamePrefix: 'team-a-' });
  t.equal(job.metadata?.name, `team-a-${JOB_ID}`);
  t.equal(job.metadata?.annotations?.['pygeoapi.io/job-name'], `team-a-${JOB_ID}`);
});

t.test('the subscriber is stored with the job', async (t) => {
  const subscriber = { successUri: 'https://client.example/ok', failedUri: 'https://client.example/failed' };
  const job = build(processOf(shipped, 'echo'), { stringInput: 'x' }, { subscriber });
  t.same(JSON.parse(job.metadata?.annotations?.['pygeoapi.io/subscriber'] ?? 'null'), subscriber);
  t.notOk('pygeoapi.io/subscriber' in (build(processOf(shipped, 'echo'), { stringInput: 'x' }).metadata?.annotations ?? {}), 'absent without one');
});
