/**
 * The plain overlay loaded into local-cluster with this machine's kubectl,
 * and the webhook run against it with the flags of its Deployment: the
 * objects apply (and re-apply unchanged), operator-set Secret values survive
 * a re-apply, the webhook finds its Secret and its MutatingWebhookConfiguration
 * by the names in the manifests, and the configuration sends exactly the
 * labelled Jobs and pods outside kube-system and the manager's namespace to
 * it, through the Service.
 *
 * local-cluster serves every kind the manifests hold (NOT_SERVED says which
 * it would not); Deployments, PodDisruptionBudgets and NetworkPolicies are
 * stored only. RBAC is enforced in rbac-e2e.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parse, stringify } from 'yaml';
import type { V1Job, V1MutatingWebhookConfiguration, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { ANNOTATIONS, DEFAULT_JOB_NAME_PREFIX, LOG_FINALIZER, MANAGED_LABEL, MANAGED_LABEL_VALUE } from '../../lib/contract.js';
import { startWebhookPart } from '../../cmd/parts/webhook-part.js';
import { startLocalCluster } from '../../local-cluster/index.js';
import { findKind } from '../../local-cluster/api-server/resources.js';
import { kubectl, kubectlOk } from './helpers/kubectl.js';
import { OVERLAYS, containerOf, deploymentOf, findObject, flagValue, namespacesOf, render, webhookNames, type KubeObject } from './helpers/manifests.js';

const NOT_SERVED: string[] = [];

function jobManifest(namespace: string, labelled: boolean): V1Job {
  const labels = labelled ? { [MANAGED_LABEL]: MANAGED_LABEL_VALUE } : undefined;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'probe', namespace, ...(labels ? { labels } : {}) },
    spec: {
      template: {
        metadata: labels ? { labels } : {},
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.37', command: ['sh', '-c', 'true'] }] },
      },
    },
  };
}

function podManifest(namespace: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'probe', namespace, labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE } },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.37', command: ['sh', '-c', 'true'] }] },
  };
}

/**
 * local-cluster accepts any client but writes its kubeconfig users without
 * credentials, and kubectl then prompts for a user name (and fails on the
 * closed stdin); any token will do.
 */
async function giveUsersCredentials(file: string): Promise<void> {
  const config = parse(await readFile(file, 'utf8')) as { users?: Array<{ user?: Record<string, unknown> }> };
  for (const entry of config.users ?? []) if (Object.keys(entry.user ?? {}).length === 0) entry.user = { token: 'deploy-tests' };
  await writeFile(file, stringify(config), { mode: 0o600 });
}

t.test('the plain overlay in local-cluster', async (t) => {
  const { objects } = await render(OVERLAYS.plain);
  const ns = namespacesOf(objects);
  const served = objects.filter((o) => findKind(o.apiVersion, o.kind) !== undefined);
  t.same([...new Set(objects.filter((o) => !served.includes(o)).map((o) => o.kind))].sort(), NOT_SERVED, 'only the kinds local-cluster does not serve are left out');

  const cluster = await startLocalCluster({ port: 0 });
  t.teardown(() => cluster.stop());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'deploy-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  await cluster.writeKubeconfig(kubeconfig);
  await giveUsersCredentials(kubeconfig);
  const k = (...args: string[]): Promise<string> => kubectlOk(['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), ...args]);
  const manifest = path.join(dir, 'served.yaml');
  await writeFile(manifest, served.map((o: KubeObject) => stringify(o)).join('---\n'));

  await t.test('kubectl apply creates every object, and applying again changes nothing', async (t) => {
    const created = (await k('apply', '-f', manifest)).trim().split('\n');
    t.equal(created.length, served.length, `${served.length} objects applied`);
    t.same(created.filter((line) => !line.endsWith(' created')), [], 'all created');
    const listed = JSON.parse(await k('get', '-f', manifest, '-o', 'json')) as { items: KubeObject[] };
    t.same(
      listed.items.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(),
      served.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort(),
      'the cluster has them all',
    );
    const again = (await k('apply', '-f', manifest)).trim().split('\n');
    // A PodDisruptionBudget's selector has patchStrategy "replace", so kubectl's three-way patch is never
    // empty and it reports "configured" against a real API server too (the server changes nothing).
    const changed = again.filter((line) => !line.endsWith(' unchanged') && !/^poddisruptionbudget\.policy\/\S+ configured$/.test(line));
    t.same(changed, [], 'a second apply leaves everything unchanged');
  });

  await t.test('a token set by the operator survives a re-apply', async (t) => {
    // `data`, not the `stringData` of secrets.yaml's instructions: local-cluster stores stringData as given
    // instead of folding it into data as a real API server does.
    const token = Buffer.from('operator-token').toString('base64');
    await k('patch', 'secret', 'k8s-job-manager', '-n', ns.system, '--type', 'merge', '-p', JSON.stringify({ data: { token } }));
    await k('apply', '-f', manifest);
    const secret = JSON.parse(await k('get', 'secret', 'k8s-job-manager', '-n', ns.system, '-o', 'json')) as V1Secret;
    t.equal(Buffer.from(secret.data?.token ?? '', 'base64').toString(), 'operator-token', 'kubectl apply kept the token');
  });

  await t.test('the webhook, run with its Deployment\'s flags, wires up through the manifests\' objects', async (t) => {
    const names = webhookNames(objects);
    const args = containerOf(deploymentOf(objects, 'webhook')).args ?? [];
    t.ok(flagValue(args, '--webhook-secret'), 'the Deployment names the TLS Secret');
    const webhook = await startWebhookPart({
      kubeConfig: cluster.kubeConfig(),
      namespace: ns.system,
      host: '127.0.0.1',
      port: 0,
      settings: { archiveLogs: true, jobNamePrefix: DEFAULT_JOB_NAME_PREFIX, defaultTtlSecondsAfterFinished: 3600 },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      serviceName: names.service,
      secretName: names.secret,
      caSecretName: names.caSecret,
      webhookConfigurationName: names.configuration,
    });
    t.teardown(() => webhook.close());
    // What kube-proxy would do: the Service's port leads to the webhook's listener.
    const service = findObject<V1Service>(objects, 'Service', names.service, ns.system);
    cluster.exposeService(ns.system, names.service, service.spec?.ports?.[0]?.port ?? 0, { host: '127.0.0.1', port: Number(new URL(webhook.url).port) });

    const secret = JSON.parse(await k('get', 'secret', names.secret, '-n', ns.system, '-o', 'json')) as V1Secret;
    t.equal(secret.type, 'kubernetes.io/tls', 'the webhook created its TLS Secret under the name RBAC allows');
    t.notOk(secret.data?.['ca.key'], 'without the CA key');
    const caSecret = JSON.parse(await k('get', 'secret', names.caSecret, '-n', ns.system, '-o', 'json')) as V1Secret;
    t.same(Object.keys(caSecret.data ?? {}).sort(), ['tls.crt', 'tls.key'], 'which is in the CA Secret, under the name RBAC allows');
    const live = JSON.parse(await k('get', 'mutatingwebhookconfiguration', names.configuration, '-o', 'json')) as V1MutatingWebhookConfiguration;
    t.equal(live.webhooks?.[0]?.clientConfig.caBundle, secret.data?.['ca.crt'], 'and wrote its CA into the applied configuration');

    const admitted = async (manifest: V1Job | V1Pod): Promise<V1Job | V1Pod> => {
      const result = await kubectl(['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), 'create', '-f', '-', '--dry-run=server', '-o', 'json'], {
        input: JSON.stringify(manifest),
      });
      if (result.code !== 0) throw new Error(result.stderr);
      return JSON.parse(result.stdout) as V1Job | V1Pod;
    };
    const mutated = (o: V1Job | V1Pod): boolean => o.metadata?.annotations?.[ANNOTATIONS.identifier] !== undefined;
    t.ok(mutated(await admitted(jobManifest(ns.jobs, true))), 'a labelled Job in the jobs namespace is mutated (a dry run: sideEffects None)');
    t.notOk(mutated(await admitted(jobManifest(ns.jobs, false))), 'an unlabelled Job is not sent');
    t.notOk(mutated(await admitted(jobManifest(ns.system, true))), 'nor a labelled Job in the manager\'s namespace');
    t.notOk(mutated(await admitted(jobManifest('kube-system', true))), 'nor one in kube-system');
    const pod = await admitted(podManifest(ns.jobs));
    t.ok(pod.metadata?.finalizers?.includes(LOG_FINALIZER), 'a labelled pod gets the log finalizer');
  });
});
