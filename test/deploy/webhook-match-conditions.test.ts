/**
 * The shipped Job-membership webhook entry's matchConditions (CEL), evaluated
 * with a CEL interpreter against the webhook's own decision: the API server
 * must send every pod request the webhook would refuse (else the refusal
 * never happens), and should send nothing else (the entry fails closed, so
 * whatever it sends waits for the webhook). local-cluster evaluates them
 * with the same interpreter (test/webhook/e2e-job-claim.test.ts).
 */
import t from 'tap';
import { evaluate } from '@marcbachmann/cel-js';
import { shippedWebhookConfiguration } from '../../cmd/local/register-webhook.js';
import { JOB_CONTROLLER_USERS } from '../../lib/contract.js';
import { jobClaimRefusal } from '../../webhook/job-claim.js';
import type { AdmissionOperation, AdmissionRequestLike } from '../../webhook/types.js';

const guard = shippedWebhookConfiguration().webhooks?.find((w) => w.name === 'job-pods.k8s-job-manager.pygeoapi.io');
const conditions = guard?.matchConditions ?? [];

/** What the API server decides: every condition true sends the request. */
function sent(request: AdmissionRequestLike): boolean {
  const context = {
    request: { operation: request.operation, userInfo: { username: request.userInfo?.username ?? '' } },
    object: request.object ?? null,
    oldObject: request.oldObject ?? null,
  };
  return conditions.every((c) => evaluate(c.expression, context) === true);
}

const UID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const OTHER_UID = 'aaaaaaaa-0b0a-4908-8706-050403020100';
const ref = (kind: string, name: string, uid: string): Record<string, unknown> => ({ apiVersion: kind === 'Job' ? 'batch/v1' : 'v1', kind, name, uid, controller: true });
const variants: Record<string, Record<string, unknown>> = {
  'no metadata': {},
  'an unrelated label': { labels: { app: 'x' } },
  'controller-uid': { labels: { 'controller-uid': UID } },
  'controller-uid of another Job': { labels: { 'controller-uid': OTHER_UID } },
  'batch.kubernetes.io/controller-uid': { labels: { 'batch.kubernetes.io/controller-uid': UID } },
  'job-name': { labels: { 'job-name': 'victim', app: 'x' } },
  'batch.kubernetes.io/job-name': { labels: { 'batch.kubernetes.io/job-name': 'victim' } },
  'a Job ownerReference': { ownerReferences: [ref('Job', 'victim', UID)] },
  'a Job ownerReference of another uid': { ownerReferences: [ref('Job', 'victim', OTHER_UID)] },
  'a ConfigMap ownerReference': { ownerReferences: [ref('ConfigMap', 'cm', UID)] },
  'everything the Job controller sets': {
    labels: { 'controller-uid': UID, 'batch.kubernetes.io/controller-uid': UID, 'job-name': 'victim', 'batch.kubernetes.io/job-name': 'victim' },
    ownerReferences: [ref('Job', 'victim', UID)],
    finalizers: ['batch.kubernetes.io/job-tracking'],
  },
};
const USERS = [...JOB_CONTROLLER_USERS, 'system:serviceaccount:team:mallory', 'system:serviceaccount:kube-system:generic-garbage-collector'];
const pod = (metadata: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'jobs', ...metadata }, spec: { containers: [] } });

function request(operation: AdmissionOperation, username: string, object: Record<string, unknown>, oldObject?: Record<string, unknown>): AdmissionRequestLike {
  return { uid: 'r', kind: { group: '', version: 'v1', kind: 'Pod' }, operation, object: pod(object), ...(oldObject ? { oldObject: pod(oldObject) } : {}), userInfo: { username } };
}

t.equal(conditions.length, 2, 'the guard has its conditions');

t.test('creations: sent exactly when the webhook refuses them', async (t) => {
  for (const username of USERS) {
    for (const [name, metadata] of Object.entries(variants)) {
      const r = request('CREATE', username, metadata);
      t.equal(sent(r), jobClaimRefusal(r, JOB_CONTROLLER_USERS) !== undefined, `${username} creates a pod with ${name}`);
    }
  }
});

t.test('updates: sent exactly when the webhook refuses them', async (t) => {
  let refused = 0;
  for (const username of USERS) {
    for (const [before, oldMeta] of Object.entries(variants)) {
      for (const [after, newMeta] of Object.entries(variants)) {
        const r = request('UPDATE', username, newMeta, oldMeta);
        const refuses = jobClaimRefusal(r, JOB_CONTROLLER_USERS) !== undefined;
        if (refuses) refused++;
        t.equal(sent(r), refuses, `${username} updates a pod from ${before} to ${after}`);
      }
    }
  }
  t.ok(refused > 0, `some updates are refused (${refused})`);
});

t.test('the finalizer removal and orphaning by others are not sent', async (t) => {
  const jobPod = variants['everything the Job controller sets']!;
  t.notOk(sent(request('UPDATE', 'system:serviceaccount:k8s-job-manager:k8s-job-manager-controller', { ...jobPod, finalizers: [] }, jobPod)), 'our controller drops its finalizer');
  t.notOk(sent(request('UPDATE', 'system:serviceaccount:kube-system:generic-garbage-collector', { ...jobPod, ownerReferences: [] }, jobPod)), 'the garbage collector orphans a pod');
});
