/**
 * Job identity end to end: the webhook over HTTPS with the shipped
 * MutatingWebhookConfiguration in local-cluster, a second webhook after it
 * (so the API server reinvokes ours), and kubectl as a user who is not a
 * trusted creator. A Job that imitates the webhook's own answer (a UUID id,
 * its creator as owner, PYGEOAPI_JOB_ID agreeing) keeps none of it, and an
 * update cannot re-point a Job's id or owner.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdmissionregistrationV1Api, BatchV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS, JOB_ENV, MANAGED_LABEL, isJobId } from '../../lib/contract.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { addLabels, startWebhookServer as startOtherWebhook, webhookCertificates } from '../helpers/webhook-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { startClusterWebhook } from '../helpers/cluster-webhook.js';

const SYSTEM_NS = 'k8s-job-manager';
const JOBS_NS = 'identity-jobs';
const SERVICE = 'k8s-job-manager-webhook';
/** local-cluster's administrator, who is not the API's service account. */
const CREATOR = 'kubernetes-admin';
const CLAIMED = '11111111-2222-4333-8444-555555555555';

const cluster = await startTestCluster(t, { namespaces: [SYSTEM_NS, JOBS_NS] });
const kubeConfig = cluster.kubeConfig();
const core = kubeConfig.makeApiClient(CoreV1Api);
const batch = kubeConfig.makeApiClient(BatchV1Api);

const reviews: string[] = [];
await startClusterWebhook(t, {
  cluster,
  systemNamespace: SYSTEM_NS,
  jobsNamespace: JOBS_NS,
  service: SERVICE,
  settings: { archiveLogs: false, jobNamePrefix: 'pygeoapi-job-', trustedJobCreators: [`system:serviceaccount:${SYSTEM_NS}:k8s-job-manager-api`] },
  onReview: (event) => reviews.push(`${event.kind ?? '?'}:${event.operation ?? '?'}:${event.outcome}`),
});

// Another webhook, called after ours (configurations go by name), that labels new Jobs: the API server then reinvokes ours.
const other = await startOtherWebhook(t, webhookCertificates('labeller', SYSTEM_NS), (request) =>
  request.operation === 'CREATE' && !request.object.metadata?.labels?.['e2e.example.com/labelled']
    ? { allowed: true, patch: addLabels(request.object, { 'e2e.example.com/labelled': 'yes' }) }
    : { allowed: true },
);
cluster.exposeService(SYSTEM_NS, 'labeller', 443, { host: '127.0.0.1', port: other.port });
await kubeConfig.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
  body: {
    metadata: { name: 'zz-labeller' },
    webhooks: [
      {
        name: 'labeller.e2e.example.com',
        clientConfig: { service: { namespace: SYSTEM_NS, name: 'labeller', path: '/label', port: 443 }, caBundle: other.caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs'] }],
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
      },
    ],
  },
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'webhook-identity-'));
const kubeconfig = path.join(dir, 'kubeconfig');
await cluster.writeKubeconfig(kubeconfig, { namespace: JOBS_NS });

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input ?? '');
  });
}

const idOf = (job: V1Job): string | undefined => job.metadata?.annotations?.[ANNOTATIONS.identifier];
const jobIdEnv = (job: V1Job): Array<string | undefined> =>
  [...(job.spec?.template.spec?.initContainers ?? []), ...(job.spec?.template.spec?.containers ?? [])].map((c) => c.env?.find((v) => v.name === JOB_ENV.jobId)?.value);

t.test('a Job imitating the webhook’s answer keeps none of it, through reinvocation', async (t) => {
  const spoof = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: 'imitation',
      labels: { [MANAGED_LABEL]: 'true' },
      // Exactly what the webhook would have written for this creator, but with an id of the creator's choosing.
      annotations: { [ANNOTATIONS.identifier]: CLAIMED, [ANNOTATIONS.owner]: CREATOR, [ANNOTATIONS.processId]: 'echo' },
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { [MANAGED_LABEL]: 'true' } },
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: 'prep', image: 'busybox', command: ['true'], env: [{ name: JOB_ENV.jobId, value: CLAIMED }] }],
          containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', `echo "$${JOB_ENV.jobId}"`], env: [{ name: JOB_ENV.jobId, value: CLAIMED }] }],
        },
      },
    },
  };
  const before = reviews.length;
  await kubectl(['create', '-f', '-'], JSON.stringify(spoof));
  const job = await batch.readNamespacedJob({ namespace: JOBS_NS, name: 'imitation' });
  t.equal(job.metadata?.labels?.['e2e.example.com/labelled'], 'yes', 'the other webhook ran after ours');
  t.same(reviews.slice(before).filter((r) => r.startsWith('Job:CREATE')), ['Job:CREATE:patched', 'Job:CREATE:patched'], 'ours was called twice (reinvoked) and patched both times');
  const id = idOf(job);
  t.not(id, CLAIMED, 'the claimed id is not kept');
  t.ok(id !== undefined && isJobId(id), `a job id the webhook gave: ${id}`);
  t.equal(job.metadata?.annotations?.[ANNOTATIONS.owner], CREATOR, 'the owner is the creator the API server authenticated');
  t.same(jobIdEnv(job), [id, id], 'every container sees the id the Job has');

  const pod = await waitFor(async () => (await core.listNamespacedPod({ namespace: JOBS_NS, labelSelector: 'job-name=imitation' })).items[0], { what: 'the pod of the Job' });
  t.equal(pod.spec?.containers[0]?.env?.find((v) => v.name === JOB_ENV.jobId)?.value, id, "the pod's PYGEOAPI_JOB_ID is the Job's id");
});

t.test('an update cannot re-point the id or the owner of a Job', async (t) => {
  const id = idOf(await batch.readNamespacedJob({ namespace: JOBS_NS, name: 'imitation' }));
  const before = reviews.length;
  await kubectl(['annotate', 'job', 'imitation', '--overwrite', `${ANNOTATIONS.identifier}=${CLAIMED}`, `${ANNOTATIONS.owner}=someone-else`, 'note=kept']);
  const job = await batch.readNamespacedJob({ namespace: JOBS_NS, name: 'imitation' });
  t.equal(idOf(job), id, 'the id stays');
  t.equal(job.metadata?.annotations?.[ANNOTATIONS.owner], CREATOR, 'the owner stays');
  t.equal(job.metadata?.annotations?.note, 'kept', 'other annotations are the user’s to change');
  t.ok(reviews.slice(before).includes('Job:UPDATE:patched'), 'the webhook saw the update');

  await kubectl(['annotate', 'job', 'imitation', `${ANNOTATIONS.owner}-`, `${ANNOTATIONS.identifier}-`]);
  const removed = await batch.readNamespacedJob({ namespace: JOBS_NS, name: 'imitation' });
  t.equal(idOf(removed), id, 'removing them does not either');
  t.equal(removed.metadata?.annotations?.[ANNOTATIONS.owner], CREATOR);
});
