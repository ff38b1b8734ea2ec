/**
 * The webhook end to end: its TLS material from the Secret it manages, the
 * shipped MutatingWebhookConfiguration registered in local-cluster with the
 * Secret's CA, and Jobs created with the machine's kubectl.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { AdmissionregistrationV1Api, BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { startWebhookServer } from '../../webhook/server.js';
import { ensureTlsSecret } from '../../certs/tls-secret.js';
import { KubeHttp } from '../../lib/kube/http.js';
import { createServingCertificate } from '../../certs/generate.js';
import { parseCertificate } from '../../certs/rotation.js';
import { registerWebhook } from '../../cmd/local/register-webhook.js';
import { JOB_ENV, LOG_FINALIZER, MANAGED_LABEL } from '../../lib/contract.js';
import { startTestCluster } from '../helpers/local-cluster.js';
import { waitFor } from '../helpers/wait-for.js';
import { startClusterWebhook } from '../helpers/cluster-webhook.js';

const SYSTEM_NS = 'k8s-job-manager';
const SERVICE = 'k8s-job-manager-webhook';

function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

t.test('kubectl-made Jobs get the contract from the webhook', async (t) => {
  const cluster = await startTestCluster(t, { namespaces: [SYSTEM_NS], jobBackoffBaseMs: 100 });
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const { material } = await ensureTlsSecret(new KubeHttp(kubeConfig), { namespace: SYSTEM_NS, name: 'webhook-tls', serviceName: SERVICE });
  const secret = await core.readNamespacedSecret({ namespace: SYSTEM_NS, name: 'webhook-tls' });
  t.equal(secret.type, 'kubernetes.io/tls', 'the TLS material lives in a kubernetes.io/tls Secret');

  const reviews: string[] = [];
  const webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { key: material.key, cert: material.cert },
    settings: { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-', defaultTtlSecondsAfterFinished: 3600, defaultActiveDeadlineSeconds: 600 },
    logger: pino({ level: 'silent' }),
    onReview: (event) => reviews.push(`${event.kind ?? '?'}:${event.outcome}`),
  });
  t.teardown(() => webhook.close());
  cluster.exposeService(SYSTEM_NS, SERVICE, 443, { host: '127.0.0.1', port: webhook.port });
  // The caBundle is the CA from the Secret: the API server verifies the webhook with it.
  await registerWebhook(new KubeHttp(kubeConfig), SYSTEM_NS, 'default', material.ca);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'webhook-e2e-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  await cluster.writeKubeconfig(kubeconfig);
  const manifest = (name: string, labelled: boolean): string =>
    JSON.stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        ...(labelled ? { labels: { [MANAGED_LABEL]: 'true' } } : {}),
        annotations: { 'pygeoapi.io/inputs': '{"aoi": "x", "n": 2}', 'pygeoapi.io/process_id': 'my-process' },
      },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: labelled ? { labels: { [MANAGED_LABEL]: 'true' } } : {},
          spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', `echo "$${JOB_ENV.inputs}" "$${JOB_ENV.jobId}" "$${JOB_ENV.processId}"`] }] },
        },
      },
    });
  writeFileSync(path.join(dir, 'labelled.json'), manifest('labelled', true));
  writeFileSync(path.join(dir, 'plain.json'), manifest('plain', false));
  await kubectl(kubeconfig, ['create', '-f', path.join(dir, 'labelled.json')]);
  await kubectl(kubeconfig, ['create', '-f', path.join(dir, 'plain.json')]);

  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const labelled = await batch.readNamespacedJob({ namespace: 'default', name: 'labelled' });
  t.equal(labelled.spec?.ttlSecondsAfterFinished, 3600, 'default lifetime set');
  t.equal(labelled.spec?.activeDeadlineSeconds, 600, 'default deadline set');
  t.ok(labelled.metadata?.annotations?.['pygeoapi.io/identifier'], 'job id annotation added, so the job shows up in /jobs');
  const plain = await batch.readNamespacedJob({ namespace: 'default', name: 'plain' });
  t.equal(plain.spec?.ttlSecondsAfterFinished, undefined, 'an unlabelled Job is untouched');
  t.equal(plain.metadata?.annotations?.['pygeoapi.io/identifier'], undefined);

  const podOf = async (job: string): Promise<V1Pod> =>
    waitFor(async () => (await core.listNamespacedPod({ namespace: 'default', labelSelector: `job-name=${job}` })).items[0], { what: `a pod of ${job}` });
  const pod = await podOf('labelled');
  t.ok(pod.metadata?.finalizers?.includes(LOG_FINALIZER), 'the pod carries the log finalizer');
  const env = Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  t.same(JSON.parse(env[JOB_ENV.inputs] ?? 'null'), { aoi: 'x', n: 2 }, 'inputs from the annotation');
  t.equal(env[JOB_ENV.processId], 'my-process');
  t.equal(env[JOB_ENV.jobId], labelled.metadata?.annotations?.['pygeoapi.io/identifier']);
  const plainPod = await podOf('plain');
  t.notOk(plainPod.metadata?.finalizers?.includes(LOG_FINALIZER), 'the unlabelled Job\'s pod has no finalizer');
  t.ok(reviews.includes('Job:patched') && reviews.includes('Pod:patched'), 'the webhook saw and patched the Job and its pod');

  // The container saw the variables.
  await waitFor(async () => (await batch.readNamespacedJob({ namespace: 'default', name: 'labelled' })).status?.succeeded === 1, { what: 'the labelled Job to succeed' });
  const log = await core.readNamespacedPodLog({ namespace: 'default', name: pod.metadata!.name! });
  t.match(log, /\{"aoi":"x","n":2\} \S+ my-process/);
  // Release our finalizer (no controller runs here).
  await core.patchNamespacedPod({ namespace: 'default', name: pod.metadata!.name!, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
});

t.test('a certificate rotation while requests flow loses none', async (t) => {
  const cluster = await startTestCluster(t, { namespaces: [SYSTEM_NS] });
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const { configuration, material, webhook } = await startClusterWebhook(t, {
    cluster,
    systemNamespace: SYSTEM_NS,
    jobsNamespace: 'default',
    service: SERVICE,
    settings: { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-' },
  });
  t.equal(configuration.webhooks?.[0]?.failurePolicy, 'Ignore', 'the shipped configuration fails open');
  // Fail closed here, so that a request the webhook missed would show as an error.
  await kubeConfig.makeApiClient(AdmissionregistrationV1Api).patchMutatingWebhookConfiguration(
    { name: configuration.metadata!.name!, body: (configuration.webhooks ?? []).map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/failurePolicy`, value: 'Fail' })) },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );

  const before = parseCertificate(material.cert).serialNumber;
  const created: string[] = [];
  let rotated = false;
  for (let i = 0; i < 40; i++) {
    if (i === 20) {
      // The CA's key lives in the CA Secret (`<serving Secret>-ca`), not next to the serving certificate.
      const caKey = (await core.readNamespacedSecret({ namespace: SYSTEM_NS, name: 'webhook-tls-ca' })).data!['tls.key'];
      const next = createServingCertificate({ ca: { certPem: material.ca, keyPem: Buffer.from(caKey!, 'base64').toString('utf8') }, serviceName: SERVICE, namespace: SYSTEM_NS });
      webhook.setTlsCredentials(next.keyPem, next.certPem);
      rotated = parseCertificate(next.certPem).serialNumber !== before;
    }
    const pod = await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { generateName: 'rot-', labels: { [MANAGED_LABEL]: 'true' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x', command: ['true'] }] } },
    });
    if (pod.metadata?.finalizers?.includes(LOG_FINALIZER)) created.push(pod.metadata.name!);
  }
  t.ok(rotated, 'the serving certificate changed mid-way');
  t.equal(created.length, 40, 'every request before and after the rotation was admitted and patched');
  for (const name of created) {
    await core.patchNamespacedPod({ namespace: 'default', name, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }
});
