import jsonpatch from 'fast-json-patch';
import t, { type Test } from 'tap';
import { ANNOTATIONS, JOB_ENV, LOG_FINALIZER, MANAGED_LABEL } from '../../lib/contract.js';
import { planAdmissionPatch } from '../../webhook/plan-patch.js';
import type { AdmissionRequestLike, JsonPatchOp, WebhookSettings } from '../../webhook/types.js';

type Doc = Record<string, any>;

const NOW = new Date('2025-03-04T05:06:07.890Z');
const SETTINGS: WebhookSettings = {
  archiveLogs: true,
  defaultTtlSecondsAfterFinished: 3600,
  defaultActiveDeadlineSeconds: 7200,
  jobNamePrefix: 'pygeoapi-job-',
};
const LABELS = { [MANAGED_LABEL]: 'true' };

function jobReview(object: Doc, overrides: Partial<AdmissionRequestLike> = {}): AdmissionRequestLike {
  return { uid: 'uid-1', kind: { group: 'batch', version: 'v1', kind: 'Job' }, operation: 'CREATE', object, ...overrides };
}

function podReview(object: Doc, overrides: Partial<AdmissionRequestLike> = {}): AdmissionRequestLike {
  return { uid: 'uid-1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object, ...overrides };
}

function job(meta: Doc, podSpec: Doc = { containers: [{ name: 'main', image: 'x' }] }, spec: Doc = {}): Doc {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { labels: { ...LABELS }, ...meta },
    spec: { template: { metadata: {}, spec: podSpec }, ...spec },
  };
}

function pod(meta: Doc, spec: Doc = { containers: [{ name: 'main', image: 'x' }] }): Doc {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { labels: { ...LABELS }, ...meta }, spec };
}

/**
 * Applies the patch op by op with validation (proving it is a valid RFC 6902
 * patch for this document) and checks no op replaces an existing array.
 */
function applyChecked(t: Test, doc: Doc, patch: JsonPatchOp[]): Doc {
  let current = structuredClone(doc);
  for (const op of patch) {
    if (!op.path.endsWith('/-')) {
      let target: unknown;
      try {
        target = jsonpatch.getValueByPointer(current, op.path);
      } catch {
        target = undefined;
      }
      t.notOk(Array.isArray(target), `${op.path} does not replace an existing array`);
    }
    current = jsonpatch.applyPatch(current, [op], true, false).newDocument;
  }
  return current;
}

function env(doc: Doc, path: string): Record<string, unknown> {
  const vars: Array<{ name: string; value?: string }> = jsonpatch.getValueByPointer(doc, path) ?? [];
  return Object.fromEntries(vars.map((v) => [v.name, v.value]));
}

interface Case {
  name: string;
  request: AdmissionRequestLike;
  settings?: WebhookSettings;
  check: (t: Test, result: Doc, plan: { patch: JsonPatchOp[]; warnings: string[] }) => void;
}

const jobCases: Case[] = [
  {
    name: 'kubectl Job without env, annotations or template labels',
    request: jobReview(job({ name: 'pygeoapi-job-abc' })),
    check: (t, r, plan) => {
      t.same(r.spec.template.metadata.labels, LABELS, 'pod template carries the managed label');
      t.same(env(r, '/spec/template/spec/containers/0/env'), { [JOB_ENV.inputs]: '{}', [JOB_ENV.jobId]: 'abc' });
      t.equal(r.spec.ttlSecondsAfterFinished, 3600);
      t.equal(r.spec.activeDeadlineSeconds, 7200);
      t.same(r.metadata.annotations, {
        [ANNOTATIONS.identifier]: 'abc',
        [ANNOTATIONS.started]: NOW.toISOString().replace(/Z$/, '000Z'),
        [ANNOTATIONS.updated]: NOW.toISOString().replace(/Z$/, '000Z'),
      });
      t.same(plan.warnings, []);
    },
  },
  {
    name: 'inputs and process id from annotations; inputs made compact',
    request: jobReview(
      job({
        name: 'pygeoapi-job-abc',
        annotations: { [ANNOTATIONS.inputs]: '{ "a": 1, "b": [1, 2] }', [ANNOTATIONS.processId]: 'hello' },
      }),
    ),
    check: (t, r) => {
      t.same(env(r, '/spec/template/spec/containers/0/env'), {
        [JOB_ENV.inputs]: '{"a":1,"b":[1,2]}',
        [JOB_ENV.jobId]: 'abc',
        [JOB_ENV.processId]: 'hello',
      });
      t.equal(r.metadata.annotations[ANNOTATIONS.inputs], '{ "a": 1, "b": [1, 2] }', 'the annotation itself is untouched');
      t.equal(r.metadata.annotations[ANNOTATIONS.processId], 'hello');
    },
  },
  {
    name: 'a var already present by name is kept; its literal value becomes the identity',
    request: jobReview(
      job(
        { name: 'pygeoapi-job-abc' },
        {
          containers: [
            { name: 'a', env: [{ name: 'OTHER', value: '1' }, { name: JOB_ENV.jobId, value: 'mine' }] },
            { name: 'b', env: [{ name: JOB_ENV.processId, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] },
          ],
        },
      ),
    ),
    check: (t, r, plan) => {
      t.same(env(r, '/spec/template/spec/containers/0/env'), { OTHER: '1', [JOB_ENV.jobId]: 'mine', [JOB_ENV.inputs]: '{}' });
      t.same(r.spec.template.spec.containers[1].env[0], {
        name: JOB_ENV.processId,
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      }, 'a valueFrom var counts as present');
      t.same(env(r, '/spec/template/spec/containers/1/env'), {
        [JOB_ENV.processId]: undefined,
        [JOB_ENV.inputs]: '{}',
        [JOB_ENV.jobId]: 'mine',
      });
      t.equal(r.metadata.annotations[ANNOTATIONS.identifier], 'mine', 'annotation agrees with the container');
      t.ok(plan.patch.some((op) => op.path === '/spec/template/spec/containers/0/env/-'), 'appends to an existing env');
    },
  },
  {
    name: 'process id known only from a container literal becomes the annotation',
    request: jobReview(job({ name: 'pygeoapi-job-abc' }, { containers: [{ name: 'a', env: [{ name: JOB_ENV.processId, value: 'p1' }] }] })),
    check: (t, r) => t.equal(r.metadata.annotations[ANNOTATIONS.processId], 'p1'),
  },
  {
    name: 'every container and init container gets the vars',
    request: jobReview(
      job(
        { name: 'pygeoapi-job-abc', annotations: { [ANNOTATIONS.processId]: 'p' } },
        { initContainers: [{ name: 'i1' }, { name: 'i2', env: [] }], containers: [{ name: 'c1' }, { name: 'c2' }] },
      ),
    ),
    check: (t, r) => {
      const want = { [JOB_ENV.inputs]: '{}', [JOB_ENV.jobId]: 'abc', [JOB_ENV.processId]: 'p' };
      for (const path of ['initContainers/0', 'initContainers/1', 'containers/0', 'containers/1']) {
        t.same(env(r, `/spec/template/spec/${path}/env`), want, path);
      }
    },
  },
  {
    name: 'generateName: no name yet, the request uid is the job id',
    request: jobReview(job({ generateName: 'pygeoapi-job-' }), { uid: '6f1c2a9e-0000-4000-8000-000000000001' }),
    check: (t, r) => {
      t.equal(r.metadata.annotations[ANNOTATIONS.identifier], '6f1c2a9e-0000-4000-8000-000000000001');
      t.equal(env(r, '/spec/template/spec/containers/0/env')[JOB_ENV.jobId], '6f1c2a9e-0000-4000-8000-000000000001');
    },
  },
  {
    name: 'a name without the prefix is the job id itself',
    request: jobReview(job({ name: 'nightly-run' })),
    check: (t, r) => t.equal(r.metadata.annotations[ANNOTATIONS.identifier], 'nightly-run'),
  },
  {
    name: 'the identifier annotation wins over the name',
    request: jobReview(job({ name: 'pygeoapi-job-abc', annotations: { [ANNOTATIONS.identifier]: 'xyz' } })),
    check: (t, r) => t.equal(env(r, '/spec/template/spec/containers/0/env')[JOB_ENV.jobId], 'xyz'),
  },
  {
    name: 'inputs annotation that is not JSON: no inputs var, a warning naming the annotation',
    request: jobReview(job({ name: 'pygeoapi-job-abc', annotations: { [ANNOTATIONS.inputs]: '{nope' } })),
    check: (t, r, plan) => {
      t.same(env(r, '/spec/template/spec/containers/0/env'), { [JOB_ENV.jobId]: 'abc' });
      t.equal(plan.warnings.length, 1);
      t.match(plan.warnings[0], 'pygeoapi.io/inputs');
    },
  },
  {
    name: 'inputs annotation that is JSON but not an object: warned, not injected',
    request: jobReview(job({ name: 'pygeoapi-job-abc', annotations: { [ANNOTATIONS.inputs]: '[1,2]' } })),
    check: (t, r, plan) => {
      t.notOk(JOB_ENV.inputs in env(r, '/spec/template/spec/containers/0/env'));
      t.match(plan.warnings, [/pygeoapi\.io\/inputs.*object/]);
    },
  },
  {
    name: 'template labels present without ours: the key is added with ~1 escaping',
    request: jobReview(
      (() => {
        const j = job({ name: 'pygeoapi-job-abc' });
        j.spec.template.metadata = { labels: { app: 'x' } };
        return j;
      })(),
    ),
    check: (t, r, plan) => {
      t.same(r.spec.template.metadata.labels, { app: 'x', [MANAGED_LABEL]: 'true' });
      t.ok(plan.patch.some((op) => op.path === '/spec/template/metadata/labels/pygeoapi.io~1managed'));
    },
  },
  {
    name: 'template without metadata gets it whole',
    request: jobReview(
      (() => {
        const j = job({ name: 'pygeoapi-job-abc' });
        delete j.spec.template.metadata;
        return j;
      })(),
    ),
    check: (t, r) => t.same(r.spec.template.metadata, { labels: LABELS }),
  },
  {
    name: 'template label "false" is corrected, with a warning',
    request: jobReview(
      (() => {
        const j = job({ name: 'pygeoapi-job-abc' });
        j.spec.template.metadata = { labels: { [MANAGED_LABEL]: 'false' } };
        return j;
      })(),
    ),
    check: (t, r, plan) => {
      t.equal(r.spec.template.metadata.labels[MANAGED_LABEL], 'true');
      t.match(plan.warnings, [/pod template label/]);
    },
  },
  {
    name: 'job pods get no service account token unless they name an account',
    request: jobReview(job({ name: 'pygeoapi-job-abc' })),
    check: (t, r) => t.equal(r.spec.template.spec.automountServiceAccountToken, false),
  },
  {
    name: 'an explicit automount true with the default account is overridden',
    request: jobReview(job({ name: 'pygeoapi-job-abc' }, { serviceAccountName: 'default', automountServiceAccountToken: true, containers: [{ name: 'main', image: 'x' }] })),
    check: (t, r) => t.equal(r.spec.template.spec.automountServiceAccountToken, false),
  },
  {
    name: 'a named service account keeps its token',
    request: jobReview(job({ name: 'pygeoapi-job-abc' }, { serviceAccountName: 'model-runner', containers: [{ name: 'main', image: 'x' }] })),
    check: (t, r) => t.notOk('automountServiceAccountToken' in r.spec.template.spec),
  },
  {
    name: 'the default deadline is injected into kubectl Jobs',
    request: jobReview(job({ name: 'pygeoapi-job-abc' })),
    settings: { ...SETTINGS, defaultActiveDeadlineSeconds: 86400 },
    check: (t, r) => t.equal(r.spec.activeDeadlineSeconds, 86400),
  },
  {
    name: 'existing ttl and deadline are kept',
    request: jobReview(job({ name: 'pygeoapi-job-abc' }, undefined, { ttlSecondsAfterFinished: 5, activeDeadlineSeconds: 0 })),
    check: (t, r) => {
      t.equal(r.spec.ttlSecondsAfterFinished, 5);
      t.equal(r.spec.activeDeadlineSeconds, 0, 'zero is a value, not absence');
    },
  },
  {
    name: 'no configured defaults: ttl and deadline left absent',
    request: jobReview(job({ name: 'pygeoapi-job-abc' })),
    settings: { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-' },
    check: (t, r) => {
      t.notOk('ttlSecondsAfterFinished' in r.spec);
      t.notOk('activeDeadlineSeconds' in r.spec);
    },
  },
  {
    name: 'a custom prefix derives the id',
    request: jobReview(job({ name: 'run-42' })),
    settings: { ...SETTINGS, jobNamePrefix: 'run-' },
    check: (t, r) => t.equal(r.metadata.annotations[ANNOTATIONS.identifier], '42'),
  },
];

const podCases: Case[] = [
  {
    name: 'bare labelled pod: finalizer and env from its own annotations',
    request: podReview(
      pod({ name: 'pygeoapi-job-p1', annotations: { [ANNOTATIONS.inputs]: '{"x": true}', [ANNOTATIONS.processId]: 'proc' } }),
    ),
    check: (t, r) => {
      t.same(r.metadata.finalizers, [LOG_FINALIZER]);
      t.same(env(r, '/spec/containers/0/env'), { [JOB_ENV.inputs]: '{"x":true}', [JOB_ENV.jobId]: 'p1', [JOB_ENV.processId]: 'proc' });
      t.notOk('identifier' in (r.metadata.annotations ?? {}), 'pods get no annotations');
    },
  },
  {
    name: 'other finalizers are kept and ours appended',
    request: podReview(pod({ name: 'p', finalizers: ['example.com/keep'] })),
    check: (t, r, plan) => {
      t.same(r.metadata.finalizers, ['example.com/keep', LOG_FINALIZER]);
      t.ok(plan.patch.some((op) => op.path === '/metadata/finalizers/-'));
    },
  },
  {
    name: 'pod of a Job: finalizer only (env comes from the Job template)',
    request: podReview(
      pod({ name: 'pygeoapi-job-abc-x1', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pygeoapi-job-abc', uid: 'u' }] }),
    ),
    check: (t, r, plan) => {
      t.same(r.metadata.finalizers, [LOG_FINALIZER]);
      t.notOk('env' in r.spec.containers[0]);
      t.equal(plan.patch.length, 1);
    },
  },
  {
    name: 'pod owned by something else than a Job is treated as bare',
    request: podReview(pod({ name: 'x', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'u' }] })),
    check: (t, r) => t.equal(env(r, '/spec/containers/0/env')[JOB_ENV.jobId], 'x'),
  },
  {
    name: 'archiveLogs off: no finalizer',
    request: podReview(pod({ name: 'pygeoapi-job-abc-x1', ownerReferences: [{ kind: 'Job', name: 'j', uid: 'u', apiVersion: 'batch/v1' }] })),
    settings: { ...SETTINGS, archiveLogs: false },
    check: (t, r, plan) => {
      t.notOk('finalizers' in r.metadata);
      t.same(plan.patch, []);
    },
  },
  {
    name: 'bare pod with init containers and generateName',
    request: podReview(pod({ generateName: 'p-' }, { initContainers: [{ name: 'i' }], containers: [{ name: 'c' }] }), { uid: 'req-uid' }),
    check: (t, r) => {
      t.equal(env(r, '/spec/initContainers/0/env')[JOB_ENV.jobId], 'req-uid');
      t.equal(env(r, '/spec/containers/0/env')[JOB_ENV.jobId], 'req-uid');
    },
  },
];

for (const c of [...jobCases, ...podCases]) {
  t.test(c.name, async (t) => {
    const settings = c.settings ?? SETTINGS;
    const plan = planAdmissionPatch(c.request, settings, NOW);
    t.ok(plan.patch.every((op) => op.op === 'add' || op.op === 'replace'));
    const result = applyChecked(t, c.request.object as Doc, plan.patch);
    c.check(t, result, plan);

    // Reinvocation (a new request uid, a later clock) sees the patched object and adds nothing.
    const again = planAdmissionPatch({ ...c.request, uid: 'uid-reinvoked', object: result }, settings, new Date(NOW.getTime() + 1000));
    t.same(again.patch, [], 'reinvocation adds nothing');

    const dryRun = planAdmissionPatch({ ...c.request, dryRun: true }, settings, NOW);
    t.same(dryRun.patch, plan.patch, 'dryRun gets the same patch');
  });
}

t.test('nothing to do', async (t) => {
  const labelled = job({ name: 'pygeoapi-job-abc' });
  const deleting = job({ name: 'pygeoapi-job-abc', deletionTimestamp: '2025-01-01T00:00:00Z' });
  const apiMade = job(
    {
      name: 'pygeoapi-job-abc',
      annotations: {
        [ANNOTATIONS.identifier]: 'abc',
        [ANNOTATIONS.processId]: 'p',
        [ANNOTATIONS.started]: 's',
        [ANNOTATIONS.updated]: 'u',
      },
    },
    {
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'main',
          env: [
            { name: JOB_ENV.inputs, value: '{}' },
            { name: JOB_ENV.jobId, value: 'abc' },
            { name: JOB_ENV.processId, value: 'p' },
          ],
        },
      ],
    },
    { ttlSecondsAfterFinished: 1, activeDeadlineSeconds: 2 },
  );
  apiMade.spec.template.metadata = { labels: LABELS };
  const cases: Array<[string, AdmissionRequestLike]> = [
    ['API/Python-made Job that has everything', jobReview(apiMade)],
    ['Job being deleted', jobReview(deleting)],
    ['pod being deleted', podReview(pod({ name: 'p', deletionTimestamp: '2025-01-01T00:00:00Z' }))],
    ['UPDATE', jobReview(labelled, { operation: 'UPDATE' })],
    ['DELETE', jobReview(labelled, { operation: 'DELETE' })],
    ['CONNECT', podReview(pod({ name: 'p' }), { operation: 'CONNECT' })],
    ['unlabelled Job', jobReview({ ...labelled, metadata: { name: 'pygeoapi-job-abc' } })],
    ['label "false"', jobReview({ ...labelled, metadata: { name: 'x', labels: { [MANAGED_LABEL]: 'false' } } })],
    ['unlabelled pod', podReview({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } })],
    ['subresource create', podReview(pod({ name: 'p' }), { subResource: 'binding' })],
    ['a Job of another group', jobReview(labelled, { kind: { group: 'example.com', version: 'v1', kind: 'Job' } })],
    ['another kind', jobReview(labelled, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } })],
    ['no object', jobReview(labelled, { object: undefined })],
    ['object not an object', jobReview(labelled, { object: 'Job' })],
  ];
  for (const [what, request] of cases) t.same(planAdmissionPatch(request, SETTINGS, NOW), { patch: [], warnings: [] }, what);
});
