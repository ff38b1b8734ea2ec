/** Job identity hardening in the webhook's pure core: ids and owners are given, never taken. */
import jsonpatch from 'fast-json-patch';
import t from 'tap';
import { ANNOTATIONS, JOB_ENV, MANAGED_LABEL, isJobId } from '../../lib/contract.js';
import { planAdmissionPatch } from '../../webhook/plan-patch.js';
import type { AdmissionRequestLike, WebhookSettings } from '../../webhook/types.js';

type Doc = Record<string, any>;

const NOW = new Date('2025-03-04T05:06:07.890Z');
const API_SA = 'system:serviceaccount:k8s-job-manager:k8s-job-manager-api';
const SETTINGS: WebhookSettings = { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-', trustedJobCreators: [API_SA] };
const VICTIM_ID = '11111111-2222-4333-8444-555555555555';
const REQUEST_UID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';

function review(object: Doc, username: string | undefined, uid = REQUEST_UID): AdmissionRequestLike {
  return {
    uid,
    kind: { group: 'batch', version: 'v1', kind: 'Job' },
    operation: 'CREATE',
    object,
    ...(username !== undefined ? { userInfo: { username } } : {}),
  };
}

function job(annotations: Record<string, string> | undefined, containerEnv?: Doc[]): Doc {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `pygeoapi-job-${VICTIM_ID}`, labels: { [MANAGED_LABEL]: 'true' }, ...(annotations ? { annotations } : {}) },
    spec: {
      template: {
        metadata: {},
        spec: {
          containers: [{ name: 'main', image: 'x', ...(containerEnv ? { env: containerEnv } : {}) }],
          initContainers: [{ name: 'prep', image: 'x', env: [{ name: JOB_ENV.jobId, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
        },
      },
    },
  };
}

function admit(object: Doc, username: string | undefined, uid = REQUEST_UID, settings = SETTINGS): { doc: Doc; warnings: string[] } {
  const plan = planAdmissionPatch(review(object, username, uid), settings, NOW);
  return { doc: jsonpatch.applyPatch(structuredClone(object), plan.patch, true, false).newDocument, warnings: plan.warnings };
}

function jobIdEnv(doc: Doc): unknown[] {
  const spec = doc.spec.template.spec;
  return [...spec.containers, ...spec.initContainers].map((c: Doc) => c.env.find((v: Doc) => v.name === JOB_ENV.jobId));
}

t.test('a kubectl user cannot choose the id or the owner of a Job', async (t) => {
  const spoofed = job({ [ANNOTATIONS.identifier]: VICTIM_ID, [ANNOTATIONS.owner]: 'alice' }, [{ name: JOB_ENV.jobId, value: VICTIM_ID }]);
  const { doc, warnings } = admit(spoofed, 'mallory');
  t.equal(doc.metadata.annotations[ANNOTATIONS.identifier], REQUEST_UID, 'the id is the admission request uid, not the claimed one (nor the name)');
  t.equal(doc.metadata.annotations[ANNOTATIONS.owner], 'mallory', 'the owner is the creator');
  t.same(jobIdEnv(doc), [{ name: JOB_ENV.jobId, value: REQUEST_UID }, { name: JOB_ENV.jobId, value: REQUEST_UID }], 'literal and valueFrom PYGEOAPI_JOB_ID replaced');
  t.match(warnings.join('\n'), /identifier is set by the manager; "11111111-2222-4333-8444-555555555555" was replaced/);
  t.match(warnings.join('\n'), /owner is set by the manager to the Job's creator; "alice" was replaced/);
});

t.test('a Job without annotations gets id and owner in one go', async (t) => {
  const { doc, warnings } = admit(job(undefined), 'bob');
  t.match(doc.metadata.annotations, { [ANNOTATIONS.identifier]: REQUEST_UID, [ANNOTATIONS.owner]: 'bob', [ANNOTATIONS.started]: /^2025-03-04T05:06:07/ });
  t.same(warnings, []);
});

t.test('reinvocation keeps our own answer', async (t) => {
  const first = admit(job(undefined), 'bob').doc;
  const plan = planAdmissionPatch(review(first, 'bob', 'ffffffff-0000-4000-8000-000000000000'), SETTINGS, NOW);
  t.same(plan.patch, [], 'nothing changes on the second pass (a new request uid)');
  const other = planAdmissionPatch(review(first, 'carol', 'ffffffff-0000-4000-8000-000000000000'), SETTINGS, NOW);
  t.ok(other.patch.some((op) => op.path.endsWith('pygeoapi.io~1identifier')), 'but not when someone else presents it');
});

t.test('the API (a trusted creator) keeps the id and owner it set', async (t) => {
  const ours = job({ [ANNOTATIONS.identifier]: VICTIM_ID, [ANNOTATIONS.owner]: 'alice' }, [{ name: JOB_ENV.jobId, value: VICTIM_ID }]);
  const { doc } = admit(ours, API_SA);
  t.equal(doc.metadata.annotations[ANNOTATIONS.identifier], VICTIM_ID);
  t.equal(doc.metadata.annotations[ANNOTATIONS.owner], 'alice');
  const untrustedSettings = { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-' };
  t.equal(admit(ours, 'mallory', REQUEST_UID, untrustedSettings).doc.metadata.annotations[ANNOTATIONS.identifier], VICTIM_ID, 'without a trusted list everyone is trusted (as before)');
});

t.test('without a username the owner claim is removed', async (t) => {
  const { doc, warnings } = admit(job({ [ANNOTATIONS.owner]: 'alice' }), undefined);
  t.notOk(ANNOTATIONS.owner in doc.metadata.annotations);
  t.match(warnings.join('\n'), /"alice" was removed/);
});

t.test('a request uid that is not a UUID still gives a UUID, the same each time', async (t) => {
  const a = admit(job(undefined), 'bob', 'local-42').doc.metadata.annotations[ANNOTATIONS.identifier];
  const b = admit(job(undefined), 'bob', 'local-42').doc.metadata.annotations[ANNOTATIONS.identifier];
  t.ok(isJobId(a), a);
  t.equal(a, b);
  t.equal(admit(job(undefined), 'bob', REQUEST_UID.toUpperCase()).doc.metadata.annotations[ANNOTATIONS.identifier], REQUEST_UID, 'upper case is lowered');
});
