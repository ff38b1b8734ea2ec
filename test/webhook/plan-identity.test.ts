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

t.test('nothing the creator writes survives, however well it imitates our answer', async (t) => {
  const OTHER_UID = 'ffffffff-0000-4000-8000-000000000000';
  const ours = admit(job(undefined), 'bob').doc;
  const cases: Array<{ name: string; object: Doc; username: string }> = [
    {
      name: 'a self-consistent spoof: a UUID id, the creator as owner, every PYGEOAPI_JOB_ID agreeing',
      object: job({ [ANNOTATIONS.identifier]: VICTIM_ID, [ANNOTATIONS.owner]: 'mallory' }, [{ name: JOB_ENV.jobId, value: VICTIM_ID }]),
      username: 'mallory',
    },
    {
      name: 'the same, the init container agreeing literally too',
      object: (() => {
        const spoof = job({ [ANNOTATIONS.identifier]: VICTIM_ID, [ANNOTATIONS.owner]: 'mallory' }, [{ name: JOB_ENV.jobId, value: VICTIM_ID }]);
        spoof.spec.template.spec.initContainers[0].env = [{ name: JOB_ENV.jobId, value: VICTIM_ID }];
        return spoof;
      })(),
      username: 'mallory',
    },
    { name: 'a copy of a Job the webhook admitted for its creator', object: ours, username: 'bob' },
    { name: 'a copy of a Job the webhook admitted for someone else', object: ours, username: 'carol' },
  ];
  for (const { name, object, username } of cases) {
    const { doc } = admit(object, username, OTHER_UID);
    t.equal(doc.metadata.annotations[ANNOTATIONS.identifier], OTHER_UID, `${name}: the id is this request's uid`);
    t.equal(doc.metadata.annotations[ANNOTATIONS.owner], username, `${name}: the owner is this request's user`);
    t.same(jobIdEnv(doc), [{ name: JOB_ENV.jobId, value: OTHER_UID }, { name: JOB_ENV.jobId, value: OTHER_UID }], `${name}: every container sees that id`);
  }
});

t.test('reinvocation (a new request uid) gives a new id, consistently, and adds nothing twice', async (t) => {
  const first = admit(job(undefined), 'bob').doc;
  const again = planAdmissionPatch(review(first, 'bob', 'ffffffff-0000-4000-8000-000000000000'), SETTINGS, NOW);
  const second = jsonpatch.applyPatch(structuredClone(first), again.patch, true, false).newDocument;
  t.equal(second.metadata.annotations[ANNOTATIONS.identifier], 'ffffffff-0000-4000-8000-000000000000');
  t.same(jobIdEnv(second), [{ name: JOB_ENV.jobId, value: 'ffffffff-0000-4000-8000-000000000000' }, { name: JOB_ENV.jobId, value: 'ffffffff-0000-4000-8000-000000000000' }]);
  t.ok(again.patch.every((op) => op.op !== 'add' || !op.path.includes('/env')), 'no env var added twice');
  t.same(planAdmissionPatch(review(second, 'bob', 'ffffffff-0000-4000-8000-000000000000'), SETTINGS, NOW).patch, [], 'the same request uid again changes nothing');
});

t.test('an update keeps the id and owner the stored Job has', async (t) => {
  const stored = admit(job(undefined), 'bob').doc;
  const update = (object: Doc, username: string, old: Doc = stored): AdmissionRequestLike => ({
    uid: 'cccccccc-0000-4000-8000-000000000000',
    kind: { group: 'batch', version: 'v1', kind: 'Job' },
    operation: 'UPDATE',
    object,
    oldObject: old,
    userInfo: { username },
  });
  const withAnnotations = (doc: Doc, annotations: Record<string, string> | undefined): Doc => {
    const next = structuredClone(doc);
    if (annotations === undefined) delete next.metadata.annotations;
    else next.metadata.annotations = annotations;
    return next;
  };
  const kept = { [ANNOTATIONS.identifier]: REQUEST_UID, [ANNOTATIONS.owner]: 'bob' };
  const cases: Array<{ name: string; object: Doc; username: string; expected: Record<string, string | undefined> }> = [
    { name: 'an untrusted user re-points the id and the owner', object: withAnnotations(stored, { ...stored.metadata.annotations, [ANNOTATIONS.identifier]: VICTIM_ID, [ANNOTATIONS.owner]: 'mallory' }), username: 'mallory', expected: kept },
    { name: 'the owner annotates its own Job with another owner', object: withAnnotations(stored, { ...stored.metadata.annotations, [ANNOTATIONS.owner]: 'alice' }), username: 'bob', expected: kept },
    { name: 'the annotations removed', object: withAnnotations(stored, undefined), username: 'mallory', expected: kept },
    { name: 'the label removed in the same update', object: (() => { const o = withAnnotations(stored, { [ANNOTATIONS.identifier]: VICTIM_ID }); delete o.metadata.labels; return o; })(), username: 'mallory', expected: kept },
    { name: 'an unrelated annotation changed', object: withAnnotations(stored, { ...stored.metadata.annotations, note: 'x' }), username: 'mallory', expected: kept },
  ];
  for (const { name, object, username, expected } of cases) {
    const plan = planAdmissionPatch(update(object, username), SETTINGS, NOW);
    const doc = jsonpatch.applyPatch(structuredClone(object), plan.patch, true, false).newDocument;
    t.equal(doc.metadata.annotations?.[ANNOTATIONS.identifier], expected[ANNOTATIONS.identifier], `${name}: id`);
    t.equal(doc.metadata.annotations?.[ANNOTATIONS.owner], expected[ANNOTATIONS.owner], `${name}: owner`);
  }
  const unchanged = planAdmissionPatch(update(withAnnotations(stored, { ...stored.metadata.annotations, note: 'x' }), 'mallory'), SETTINGS, NOW);
  t.same(unchanged, { patch: [], warnings: [] }, 'an update that leaves them alone gets no patch and no warning');
  const spoof = planAdmissionPatch(update(withAnnotations(stored, { ...stored.metadata.annotations, [ANNOTATIONS.owner]: 'mallory' }), 'mallory'), SETTINGS, NOW);
  t.match(spoof.warnings.join('\n'), /owner is set by the manager and cannot be changed; it stays "bob"/);
  const ownerless = withAnnotations(stored, { [ANNOTATIONS.identifier]: REQUEST_UID });
  const added = planAdmissionPatch(update(withAnnotations(ownerless, { [ANNOTATIONS.identifier]: REQUEST_UID, [ANNOTATIONS.owner]: 'mallory' }), 'mallory', ownerless), SETTINGS, NOW);
  t.same(added.patch, [{ op: 'remove', path: '/metadata/annotations/pygeoapi.io~1owner' }], 'an owner cannot be added to a Job that had none (operators only see it)');
  const api = planAdmissionPatch(update(withAnnotations(stored, { ...stored.metadata.annotations, [ANNOTATIONS.owner]: 'alice' }), API_SA), SETTINGS, NOW);
  t.same(api.patch, [], 'a trusted creator may');
  const unmanaged = (() => { const o = structuredClone(stored); delete o.metadata.labels; return o; })();
  t.same(planAdmissionPatch(update(withAnnotations(unmanaged, { [ANNOTATIONS.owner]: 'mallory' }), 'mallory', unmanaged), SETTINGS, NOW).patch, [], 'a Job that was and is not managed is none of ours');
  const pod = planAdmissionPatch({ ...update(stored, 'mallory'), kind: { group: '', version: 'v1', kind: 'Pod' } }, SETTINGS, NOW);
  t.same(pod.patch, [], 'pod updates are not planned');
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
