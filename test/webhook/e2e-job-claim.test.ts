/**
 * Job membership end to end: local-cluster enforcing RBAC, the webhook over
 * HTTPS with the shipped MutatingWebhookConfiguration, the API executing a
 * job through it, and kubectl as a ServiceAccount that may create and patch
 * pods in the jobs namespace (but not Jobs). Copying a Job's labels or
 * ownerReference onto a pod — at creation or later — is refused with a
 * message naming the claim and who may set it; the Job controller's pods go
 * through, and the API job runs and answers its result as before.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1Job } from '@kubernetes/client-node';
import { serviceAccountKubeConfig, startEnforcingCluster } from '../helpers/local-cluster.js';
import { jobIdOf, startApiHarness } from '../helpers/api-e2e.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { startClusterWebhook } from '../helpers/cluster-webhook.js';

const SYSTEM_NS = 'k8s-job-manager';
const JOBS_NS = 'claim-jobs';
const SERVICE = 'k8s-job-manager-webhook';
const MALLORY = `system:serviceaccount:${JOBS_NS}:mallory`;

const cluster = await startEnforcingCluster(t, { namespaces: [SYSTEM_NS, JOBS_NS] });
const admin = cluster.kubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const batch = admin.makeApiClient(BatchV1Api);

const reviews: string[] = [];
await startClusterWebhook(t, {
  cluster,
  systemNamespace: SYSTEM_NS,
  jobsNamespace: JOBS_NS,
  service: SERVICE,
  // The API below runs as the cluster administrator; the Job controller users are the default.
  settings: { archiveLogs: false, jobNamePrefix: 'pygeoapi-job-', trustedJobCreators: ['kubernetes-admin'] },
  onReview: (event) => reviews.push(`${event.kind ?? '?'}:${event.operation ?? '?'}:${event.outcome}`),
});

const api = await startApiHarness(t, { cluster, namespace: JOBS_NS, configFile: path.join(API_FIXTURES, 'test-processes.yaml') });

// Mallory may make and edit pods, and read Jobs (so she knows their uids), but not make Jobs.
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
await rbac.createNamespacedRole({
  namespace: JOBS_NS,
  body: {
    metadata: { name: 'pod-maker' },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'patch', 'update', 'delete'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list'] },
    ],
  },
});
await rbac.createNamespacedRoleBinding({
  namespace: JOBS_NS,
  body: { metadata: { name: 'mallory' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-maker' }, subjects: [{ kind: 'ServiceAccount', name: 'mallory', namespace: JOBS_NS }] },
});
const { token } = await serviceAccountKubeConfig(cluster, JOBS_NS, 'mallory');
const dir = mkdtempSync(path.join(os.tmpdir(), 'webhook-claim-'));
const kubeconfig = path.join(dir, 'kubeconfig');
await cluster.writeKubeconfig(kubeconfig, { namespace: JOBS_NS, token });

interface Outcome {
  ok: boolean;
  stdout: string;
  stderr: string;
}
function kubectl(args: string[], input?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ ok: error === null, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

const barePod = (name: string, metadata: Record<string, unknown> = {}): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...metadata },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo PYGEOAPI_K8S_MANAGER_RESULT_START; echo stolen'] }] },
  });

// The victim: a job executed through the API, whose pods the Job controller makes (through the guard).
let jobId = '';
let victim: V1Job = {};
let victimUid = '';
let victimName = '';
let resultBefore = '';
let owner: Record<string, unknown> = {};

t.test('the Job controller’s pods are admitted through the guard, and the API job works end to end', async (t) => {
  const execution = await api.request('POST', '/processes/echo/execution', { body: { inputs: { stringInput: 'mine' } }, headers: { prefer: 'respond-async' } });
  t.equal(execution.status, 201, 'the API accepts the execution');
  jobId = jobIdOf(execution.headers.get('location'));
  await api.waitForStatus(jobId, ['successful'], 60_000);
  victim = await batch.readNamespacedJob({ namespace: JOBS_NS, name: `pygeoapi-job-${jobId}` });
  victimUid = victim.metadata!.uid!;
  victimName = victim.metadata!.name!;
  owner = { apiVersion: 'batch/v1', kind: 'Job', name: victimName, uid: victimUid, controller: true, blockOwnerDeletion: true };
  const results = await api.request('GET', `/jobs/${jobId}/results`);
  t.equal(results.status, 200, 'results answered');
  resultBefore = results.text;
  t.match(resultBefore, /mine/, `the result is the job's own: ${resultBefore}`);

  // The managed-object entry saw the Job and its pod; the guard's matchConditions skip the Job controller's pod and its updates.
  t.same(reviews, ['Job:CREATE:unchanged', 'Pod:CREATE:unchanged'], 'the job pod went through the managed-object entry only, and was admitted');
  const pods = await core.listNamespacedPod({ namespace: JOBS_NS, labelSelector: `batch.kubernetes.io/controller-uid=${victimUid}` });
  t.equal(pods.items.length, 1, 'one pod of the Job');
  t.equal(pods.items[0]?.metadata?.ownerReferences?.[0]?.uid, victimUid, 'owned by the Job');
});

t.test('mallory may create pods, so RBAC is not what stops her', async (t) => {
  const can = await kubectl(['auth', 'can-i', 'create', 'pods']);
  t.equal(can.stdout.trim(), 'yes');
  const cannot = await kubectl(['auth', 'can-i', 'create', 'jobs']);
  t.equal(cannot.stdout.trim(), 'no');
});

const claims = (): Array<{ name: string; metadata: Record<string, unknown>; says: RegExp }> => [
  {
    name: 'every label and the ownerReference, managed',
    metadata: { labels: { ...victim.spec!.template.metadata!.labels }, ownerReferences: [owner] },
    says: new RegExp(`label batch\\.kubernetes\\.io/controller-uid=${victimUid}.*ownerReference Job "${victimName}" \\(uid ${victimUid}\\)`),
  },
  { name: 'controller-uid only', metadata: { labels: { 'controller-uid': victimUid } }, says: new RegExp(`label controller-uid=${victimUid}`) },
  { name: 'job-name only', metadata: { labels: { 'batch.kubernetes.io/job-name': victimName } }, says: /label batch\.kubernetes\.io\/job-name=/ },
  { name: 'the ownerReference only', metadata: { ownerReferences: [owner] }, says: new RegExp(`ownerReference Job "${victimName}"`) },
];
const CLAIM_NAMES = ['every label and the ownerReference, managed', 'controller-uid only', 'job-name only', 'the ownerReference only'];

for (const [i, name] of CLAIM_NAMES.entries()) {
  t.test(`a pod claiming the victim’s Job is refused: ${name}`, async (t) => {
    const claim = claims()[i]!;
    t.equal(claim.name, name);
    const created = await kubectl(['create', '-f', '-'], barePod(`claim-${i}`, claim.metadata));
    t.notOk(created.ok, 'kubectl create fails');
    t.match(created.stderr, /admission webhook "(job-pods\.)?k8s-job-manager\.pygeoapi\.io" denied the request/, 'the webhook denied it');
    t.match(created.stderr, new RegExp(`user "${MALLORY}" may not create a pod with`), 'naming who');
    t.match(created.stderr, claim.says, 'naming the claim');
    t.match(created.stderr, /only the Job controller \(system:serviceaccount:kube-system:job-controller, system:kube-controller-manager\) may set them/, 'and who may');
    t.equal((await kubectl(['get', 'pod', `claim-${i}`])).ok, false, 'no such pod');
  });
}

t.test('a claim added to an existing pod is refused; other edits are not', async (t) => {
  t.ok((await kubectl(['create', '-f', '-'], barePod('bare', { labels: { app: 'mine' } }))).ok, 'a pod that claims nothing is admitted');
  const labelled = await kubectl(['label', 'pod', 'bare', `job-name=${victimName}`]);
  t.notOk(labelled.ok, 'kubectl label job-name fails');
  t.match(labelled.stderr, new RegExp(`user "${MALLORY}" may not add to a pod label job-name=${victimName}`));
  const patched = await kubectl(['patch', 'pod', 'bare', '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]);
  t.notOk(patched.ok, 'kubectl patch ownerReferences fails');
  t.match(patched.stderr, new RegExp(`may not add to a pod ownerReference Job "${victimName}"`));
  t.ok((await kubectl(['label', 'pod', 'bare', 'colour=blue'])).ok, 'an unrelated label is fine');
  const bare = await core.readNamespacedPod({ namespace: JOBS_NS, name: 'bare' });
  t.same([bare.metadata?.labels, bare.metadata?.ownerReferences], [{ app: 'mine', colour: 'blue' }, undefined], 'the pod claims nothing');
});

t.test('the victim’s job is untouched', async (t) => {
  const pods = await core.listNamespacedPod({ namespace: JOBS_NS, labelSelector: `job-name=${victimName}` });
  t.same(pods.items.map((p) => p.metadata?.name?.startsWith(victimName)), [true], 'only the Job’s own pod carries its labels');
  t.equal((await api.request('GET', `/jobs/${jobId}/results`)).text, resultBefore, 'the same result bytes');
  t.ok(reviews.filter((r) => r === 'Pod:CREATE:refused').length >= CLAIM_NAMES.length, 'every claim was refused by the webhook');
  t.ok(reviews.includes('Pod:UPDATE:refused'), 'and the updates too');
});

