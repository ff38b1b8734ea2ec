/** Who may make a pod part of a Job: the webhook's pure decision, as a table. */
import t from 'tap';
import { JOB_CONTROLLER_USERS, MANAGED_LABEL } from '../../lib/contract.js';
import { jobClaimRefusal, jobClaims } from '../../webhook/job-claim.js';
import type { AdmissionOperation, AdmissionRequestLike } from '../../webhook/types.js';

const VICTIM_UID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const JOB_CONTROLLER = 'system:serviceaccount:kube-system:job-controller';
const CONTROLLER_MANAGER = 'system:kube-controller-manager';
const MALLORY = 'system:serviceaccount:team:mallory';
const OUR_CONTROLLER = 'system:serviceaccount:k8s-job-manager:k8s-job-manager-controller';
const GC = 'system:serviceaccount:kube-system:generic-garbage-collector';

type Meta = { labels?: Record<string, string>; ownerReferences?: Array<Record<string, unknown>>; finalizers?: string[] };

const owner = { apiVersion: 'batch/v1', kind: 'Job', name: 'victim', uid: VICTIM_UID, controller: true, blockOwnerDeletion: true };
const jobLabels = { 'batch.kubernetes.io/controller-uid': VICTIM_UID, 'controller-uid': VICTIM_UID, 'batch.kubernetes.io/job-name': 'victim', 'job-name': 'victim' };
const jobPod: Meta = { labels: { ...jobLabels, [MANAGED_LABEL]: 'true' }, ownerReferences: [owner], finalizers: ['pygeoapi.io/finalizer-log-retrieval'] };
const pod = (meta: Meta): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...meta }, spec: { containers: [{ name: 'c', image: 'x' }] } });

function request(operation: AdmissionOperation, user: string | undefined, object: Meta, oldObject?: Meta, extra: Partial<AdmissionRequestLike> = {}): AdmissionRequestLike {
  return {
    uid: 'r',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    operation,
    object: pod(object),
    ...(oldObject ? { oldObject: pod(oldObject) } : {}),
    ...(user !== undefined ? { userInfo: { username: user } } : {}),
    ...extra,
  };
}

const cases: Array<{ name: string; request: AdmissionRequestLike; refused: RegExp | false }> = [
  // Creation
  { name: 'the Job controller (own service account) creates a Job pod', request: request('CREATE', JOB_CONTROLLER, jobPod), refused: false },
  { name: 'the Job controller (controller manager identity) creates a Job pod', request: request('CREATE', CONTROLLER_MANAGER, jobPod), refused: false },
  { name: 'a user creates a bare pod with no claim', request: request('CREATE', MALLORY, { labels: { app: 'x' } }), refused: false },
  { name: 'a user creates a managed bare pod with no claim', request: request('CREATE', MALLORY, { labels: { [MANAGED_LABEL]: 'true' } }), refused: false },
  { name: 'a user copies every label and the ownerReference', request: request('CREATE', MALLORY, jobPod), refused: /^user "system:serviceaccount:team:mallory" may not create a pod with label batch\.kubernetes\.io\/controller-uid=0f0e.*, label controller-uid=.*, label batch\.kubernetes\.io\/job-name=victim, label job-name=victim, ownerReference Job "victim" \(uid 0f0e0d0c-0b0a-4908-8706-050403020100\): .*only the Job controller \(system:serviceaccount:kube-system:job-controller, system:kube-controller-manager\) may set them/ },
  { name: 'a user sets only controller-uid', request: request('CREATE', MALLORY, { labels: { 'controller-uid': VICTIM_UID } }), refused: /create a pod with label controller-uid=0f0e/ },
  { name: 'a user sets only batch.kubernetes.io/controller-uid', request: request('CREATE', MALLORY, { labels: { 'batch.kubernetes.io/controller-uid': VICTIM_UID } }), refused: /label batch\.kubernetes\.io\/controller-uid=/ },
  { name: 'a user sets only job-name', request: request('CREATE', MALLORY, { labels: { 'job-name': 'victim' } }), refused: /label job-name=victim/ },
  { name: 'a user sets only batch.kubernetes.io/job-name', request: request('CREATE', MALLORY, { labels: { 'batch.kubernetes.io/job-name': 'victim' } }), refused: /label batch\.kubernetes\.io\/job-name=victim/ },
  { name: 'a user sets only an ownerReference to the Job', request: request('CREATE', MALLORY, { ownerReferences: [owner] }), refused: /ownerReference Job "victim"/ },
  { name: 'a non-controlling Job ownerReference claims too', request: request('CREATE', MALLORY, { ownerReferences: [{ ...owner, controller: false }] }), refused: /ownerReference Job "victim"/ },
  { name: 'an ownerReference of another kind is no claim', request: request('CREATE', MALLORY, { ownerReferences: [{ ...owner, kind: 'ConfigMap' }] }), refused: false },
  { name: 'the cluster admin is no Job controller', request: request('CREATE', 'kubernetes-admin', jobPod), refused: /user "kubernetes-admin" may not/ },
  { name: 'a request without a user', request: request('CREATE', undefined, { labels: { 'job-name': 'victim' } }), refused: /^an unidentified user may not/ },
  { name: 'a dry run is refused alike', request: request('CREATE', MALLORY, jobPod, undefined, { dryRun: true }), refused: /may not create/ },
  // Updates
  { name: 'our controller removes its finalizer from a Job pod', request: request('UPDATE', OUR_CONTROLLER, { ...jobPod, finalizers: [] }, jobPod), refused: false },
  { name: 'a user relabels a Job pod without touching its claim', request: request('UPDATE', MALLORY, { ...jobPod, labels: { ...jobPod.labels, extra: 'y' } }, jobPod), refused: false },
  { name: 'the garbage collector drops the ownerReference (orphaning)', request: request('UPDATE', GC, { ...jobPod, ownerReferences: [] }, jobPod), refused: false },
  { name: 'a user adds job labels to a bare pod', request: request('UPDATE', MALLORY, { labels: { 'job-name': 'victim' } }, { labels: {} }), refused: /^user "system:serviceaccount:team:mallory" may not add to a pod label job-name=victim/ },
  { name: 'a user adds an ownerReference to a bare pod', request: request('UPDATE', MALLORY, { ownerReferences: [owner] }, {}), refused: /add to a pod ownerReference Job "victim"/ },
  { name: 'a user re-points an orphan to another Job', request: request('UPDATE', MALLORY, { labels: { 'job-name': 'victim' } }, { labels: { 'job-name': 'old' } }), refused: /label job-name=victim/ },
  { name: 'the Job controller adopts an orphan', request: request('UPDATE', JOB_CONTROLLER, jobPod, { labels: jobLabels }), refused: false },
  // Not ours to judge
  { name: 'a status update', request: request('UPDATE', MALLORY, jobPod, {}, { subResource: 'status' }), refused: false },
  { name: 'a Job (not a pod)', request: { ...request('CREATE', MALLORY, jobPod), kind: { group: 'batch', version: 'v1', kind: 'Job' } }, refused: false },
  { name: 'a DELETE', request: request('DELETE', MALLORY, jobPod), refused: false },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const refusal = jobClaimRefusal(c.request, JOB_CONTROLLER_USERS);
    if (c.refused === false) t.equal(refusal, undefined, 'admitted');
    else t.match(refusal ?? '', c.refused, `refused: ${refusal}`);
  });
}

t.test('the list of Job controller users is the operator’s', async (t) => {
  const byOwnAccount = request('CREATE', JOB_CONTROLLER, jobPod);
  t.equal(jobClaimRefusal(byOwnAccount, ['system:serviceaccount:kube-system:job-controller']), undefined, 'listed: admitted');
  t.match(jobClaimRefusal(byOwnAccount, ['system:kube-controller-manager']) ?? '', /only the Job controller \(system:kube-controller-manager\)/, 'not listed: refused, naming who may');
});

t.test('claims of odd shapes are read without throwing', async (t) => {
  t.same(jobClaims(undefined), []);
  t.same(jobClaims({ metadata: { labels: 'x', ownerReferences: 'y' } }), []);
  t.same(jobClaims({ metadata: { labels: { 'job-name': 3 }, ownerReferences: [null, { kind: 'Job' }] } }), ['ownerReference Job "undefined" (uid undefined)']);
});
