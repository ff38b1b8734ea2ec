/**
 * RBAC per part, by running each part under its own ServiceAccount: the
 * plain overlay's ServiceAccounts, Roles, ClusterRoles and bindings are
 * applied with kubectl to a local-cluster that enforces RBAC; the API (in
 * `kubernetes` access-control mode), the webhook's certificate management
 * and the controller each get a kubeconfig with their own account's token
 * and drive a real flow: execute, the job runs, its log is archived to S3
 * and the finalizer released, a refused callback gets an Event, the job is
 * dismissed; the webhook creates its Secrets, patches the caBundle, renews
 * its serving certificate, rolls its CA and migrates an earlier version's
 * combined Secret. Every call is recorded as an audit log would record it
 * (local-cluster's auditObserver); then:
 * - no call of any part was refused (no 403 anywhere);
 * - every permission a part's Roles grant was used by that part (every verb
 *   it has and nothing more; rules that name objects were used on them);
 * - objects a part addresses by a fixed name are named in its rules.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import pino from 'pino';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { CoreV1Api, type V1Job, type V1MutatingWebhookConfiguration, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { LOG_FINALIZER, MANAGED_LABEL, MANAGED_LABEL_VALUE } from '../../lib/contract.js';
import { loadConfigFile } from '../../lib/config/index.js';
import { KubeHttp } from '../../lib/kube/http.js';
import { startApi } from '../../api/index.js';
import { buildJob } from '../../api/execution/job-manifest.js';
import { DEFAULT_TUNING } from '../../controller/settings.js';
import { startWebhookPart } from '../../cmd/parts/webhook-part.js';
import { ensureTlsSecret, patchWebhookCaBundle } from '../../certs/tls-secret.js';
import { splitPemBundle } from '../../certs/rotation.js';
import type { Attributes } from '../../local-cluster/auth/rbac.js';
import { shellPod, startEnforcingCluster } from '../helpers/local-cluster.js';
import { API_FIXTURES } from '../helpers/api-processes.js';
import { waitFor } from '../helpers/wait-for.js';
import { startTestS3 } from '../controller/helpers/s3.js';
import { bucketEnv, PREFIX, startTestController } from '../controller/helpers/controller.js';
import { kubectlOk } from './helpers/kubectl.js';
import { OVERLAYS, PARTS, namespacesOf, render, webhookNames, type Part } from './helpers/manifests.js';
import { expandRule, rulesOf, type Access, type GrantedRule } from './helpers/rbac.js';

/** One resource request as the audit log records it, with RBAC's answer. */
interface Call extends Access {
  user: string;
  allowed: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Resources whose objects a part addresses by a name fixed in the manifests: their rules must name them. */
const NAMED_OBJECTS = new Set(['secrets', 'leases', 'mutatingwebhookconfigurations']);
const NAMEABLE_VERBS = new Set(['get', 'update', 'patch', 'delete']);

const calls: Call[] = [];
const nonResourceDenials: string[] = [];
const cluster = await startEnforcingCluster(t, {
  auditObserver: (attributes: Attributes, decision) => {
    if (!attributes.resourceRequest) {
      if (!decision.allowed) nonResourceDenials.push(`${attributes.user.username} ${attributes.verb} ${attributes.path}`);
      return;
    }
    calls.push({
      user: attributes.user.username,
      allowed: decision.allowed,
      verb: attributes.verb,
      group: attributes.apiGroup,
      resource: attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource,
      ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
      ...(attributes.name ? { name: attributes.name } : {}),
    });
  },
});

const { objects } = await render(OVERLAYS.plain);
const ns = namespacesOf(objects);
const names = webhookNames(objects);
const dir = await mkdtemp(path.join(os.tmpdir(), 'rbac-e2e-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const kubeconfig = path.join(dir, 'admin');
await cluster.writeKubeconfig(kubeconfig);
const manifest = path.join(dir, 'plain.yaml');
await writeFile(manifest, objects.map((o) => stringify(o)).join('---\n'));
await kubectlOk(['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir, 'cache'), 'apply', '-f', manifest], { timeoutMs: 120_000 });

const username = (part: Part): string => `system:serviceaccount:${ns.system}:k8s-job-manager-${part}`;
const kubeConfigOf = async (part: Part, namespace: string) =>
  cluster.kubeConfig({ namespace, token: await cluster.createToken(ns.system, `k8s-job-manager-${part}`) });
const admin = cluster.kubeConfig();
const adminCore = admin.makeApiClient(CoreV1Api);
const adminHttp = new KubeHttp(admin);
t.teardown(() => adminHttp.close());

// The webhook, as its Deployment runs it: its own namespace, the manifests' names, its ServiceAccount.
const webhookKubeConfig = await kubeConfigOf('webhook', ns.system);
const webhook = await startWebhookPart({
  kubeConfig: webhookKubeConfig,
  namespace: ns.system,
  host: '127.0.0.1',
  port: 0,
  settings: { archiveLogs: true, jobNamePrefix: 'pygeoapi-job-', trustedJobCreators: [username('api')], defaultTtlSecondsAfterFinished: 3600 },
  logger: pino({ level: 'silent' }),
  metrics: new Registry(),
  serviceName: names.service,
  secretName: names.secret,
  caSecretName: names.caSecret,
  webhookConfigurationName: names.configuration,
});
let webhookClosed = false;
const closeWebhook = async (): Promise<void> => {
  if (!webhookClosed) await webhook.close();
  webhookClosed = true;
};
t.teardown(closeWebhook);
cluster.exposeService(ns.system, names.service, 443, { host: '127.0.0.1', port: Number(new URL(webhook.url).port) });

// The controller, under its ServiceAccount, with the manifests' Lease name.
const s3 = await startTestS3(t);
const controller = await startTestController(t, {
  kubeConfig: await kubeConfigOf('controller', ns.jobs),
  namespaces: [ns.jobs],
  env: bucketEnv(s3.endpoint),
  tuning: { leaderElection: { ...DEFAULT_TUNING.leaderElection, leaseDurationSeconds: 4, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5 } },
});
await waitFor(() => controller.isLeader(), { what: 'the controller to lead', timeoutMs: 20_000 });

// The API, under its ServiceAccount, in `kubernetes` mode, reading the same archive.
const env: Record<string, string> = {
  PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'kubernetes',
  PYGEOAPI_K8S_MANAGER_RATE_LIMIT_PER_MINUTE: '0',
  ...(Object.fromEntries(Object.entries(bucketEnv(s3.endpoint)).filter((e): e is [string, string] => e[1] !== undefined)) as Record<string, string>),
};
const { config } = loadConfigFile(path.join(API_FIXTURES, 'auth-processes.yaml'), env);
const api = await startApi({
  config,
  kubeConfig: await kubeConfigOf('api', ns.jobs),
  namespace: ns.jobs,
  host: '127.0.0.1',
  port: 0,
  logger: pino({ level: 'silent' }),
  metrics: new Registry(),
  archiveLogs: true,
});
let apiClosed = false;
const closeApi = async (): Promise<void> => {
  if (!apiClosed) await api.close();
  apiClosed = true;
};
t.teardown(closeApi);

// A caller of the API with a user's and an operator's rights in the jobs namespace.
await adminHttp.request({
  method: 'POST',
  path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.jobs}/roles`,
  body: {
    metadata: { name: 'caller' },
    rules: [
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'create', 'delete'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ],
  },
});
await adminCore.createNamespacedServiceAccount({ namespace: ns.jobs, body: { metadata: { name: 'caller' } } });
await adminHttp.request({
  method: 'POST',
  path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.jobs}/rolebindings`,
  body: {
    metadata: { name: 'caller' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'caller' },
    subjects: [{ kind: 'ServiceAccount', name: 'caller', namespace: ns.jobs }],
  },
});
const CALLER = { authorization: `Bearer ${await cluster.createToken(ns.jobs, 'caller')}` };
const request = async (method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${api.url}${route}`, {
    method,
    headers: { ...CALLER, ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, text: await response.text() };
};

t.test('the flow, each part under its own ServiceAccount', async (t) => {
  const secret = await adminCore.readNamespacedSecret({ namespace: ns.system, name: names.secret });
  t.same(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key'], 'the webhook created its serving Secret, without the CA key');
  const caSecret = await adminCore.readNamespacedSecret({ namespace: ns.system, name: names.caSecret });
  t.same(Object.keys(caSecret.data ?? {}).sort(), ['tls.crt', 'tls.key'], 'and its CA Secret');
  const configuration = await adminHttp.request<V1MutatingWebhookConfiguration>({ path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${names.configuration}` });
  t.equal(configuration.webhooks?.[0]?.clientConfig.caBundle, secret.data?.['ca.crt'], 'and wrote its CA into the configuration');

  const executed = await request('POST', '/processes/echo/execution', { inputs: { stringInput: 'rbac' } }, { prefer: 'respond-async' });
  t.equal(executed.status, 201, `executed: ${executed.text}`);
  const jobId = /"jobID":"([^"]+)"/.exec(executed.text)?.[1] ?? '';
  const jobName = `pygeoapi-job-${jobId}`;
  await waitFor(async () => /"status":"successful"/.test((await request('GET', `/jobs/${jobId}`)).text), { what: 'the job to succeed', timeoutMs: 30_000 });
  const logs = await request('GET', `/jobs/${jobId}/logs`);
  t.equal(logs.status, 200, 'the API reads the log');
  t.match(logs.text, /rbac/, 'the log holds what the job printed');

  const keys = await waitFor(async () => {
    const found = await s3.keys(`${PREFIX}${ns.jobs}/${jobName}/`);
    return found.some((k) => k.endsWith('job.json')) ? found : undefined;
  }, { what: 'the log and the job record archived', timeoutMs: 30_000 });
  t.ok(keys.length >= 2, `archived: ${keys.join(', ')}`);
  const pods = await waitFor(async () => {
    const list = await adminHttp.request<{ items: V1Pod[] }>({ path: `/api/v1/namespaces/${ns.jobs}/pods`, query: { labelSelector: `job-name=${jobName}` } });
    return list.items.length > 0 && list.items.every((p) => !(p.metadata?.finalizers ?? []).includes(LOG_FINALIZER)) ? list.items : undefined;
  }, { what: 'the log finalizer released', timeoutMs: 30_000 });
  t.ok(pods.length > 0, 'the pods are free to go');

  // A Job made with kubectl whose subscriber the callback policy refuses: the API records an Event on it.
  const refused = buildJob({
    process: config.processes.find((p) => p.id === 'echo')!,
    jobId: '5f1b7a4e-0000-4000-8000-00000000abcd',
    inputs: { stringInput: 'kubectl' },
    namespace: ns.jobs,
    jobNamePrefix: config.settings.jobNamePrefix,
    archiveLogs: true,
    subscriber: { successUri: 'http://127.0.0.1:9/refused' },
    now: new Date(),
  });
  await adminHttp.request({ method: 'POST', path: `/apis/batch/v1/namespaces/${ns.jobs}/jobs`, body: refused });
  await waitFor(async () => {
    const events = await adminHttp.request<{ items: Array<{ reason?: string; involvedObject?: { name?: string } }> }>({ path: `/api/v1/namespaces/${ns.jobs}/events` });
    return events.items.some((e) => e.reason === 'CallbackRefused' && e.involvedObject?.name === refused.metadata?.name);
  }, { what: 'a CallbackRefused Event', timeoutMs: 30_000 });

  // A pod whose Job the controller's cache has not seen (its Job watch lagging): the controller asks for the Job.
  // Only the Job controller may make a pod that claims a Job (the webhook refuses anyone else): made as it, with its rights.
  await adminCore.createNamespacedServiceAccount({ namespace: 'kube-system', body: { metadata: { name: 'job-controller' } } });
  await adminHttp.request({
    method: 'POST',
    path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.jobs}/rolebindings`,
    body: {
      metadata: { name: 'test-job-controller-pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'job-controller', namespace: 'kube-system' }],
    },
  });
  const jobControllerCore = cluster.kubeConfig({ namespace: ns.jobs, token: await cluster.createToken('kube-system', 'job-controller') }).makeApiClient(CoreV1Api);
  await jobControllerCore.createNamespacedPod({
    namespace: ns.jobs,
    body: shellPod('orphan', 'echo orphan', {}, {
      labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'not-cached', uid: '00000000-0000-4000-8000-000000000001', controller: true }],
    }),
  });
  await waitFor(() => calls.some((c) => c.user === username('controller') && c.verb === 'get' && c.resource === 'jobs' && c.name === 'not-cached'), {
    what: 'the controller to read the Job it has not cached',
    timeoutMs: 20_000,
  });

  const dismissed = await request('DELETE', `/jobs/${jobId}`);
  t.equal(dismissed.status, 200, `dismissed: ${dismissed.text}`);
  await waitFor(async () => {
    const list = await adminHttp.request<{ items: V1Job[] }>({ path: `/apis/batch/v1/namespaces/${ns.jobs}/jobs` });
    return !list.items.some((j) => j.metadata?.name === jobName && j.metadata.deletionTimestamp === undefined);
  }, { what: 'the Job deleted', timeoutMs: 20_000 });
});

t.test('the webhook renews, rolls its CA and migrates an earlier Secret under its own account', async (t) => {
  const kube = new KubeHttp(webhookKubeConfig);
  t.teardown(() => kube.close());
  const options = { namespace: ns.system, name: names.secret, caSecretName: names.caSecret, serviceName: names.service };
  const renewed = await ensureTlsSecret(kube, { ...options, now: () => new Date(Date.now() + 25 * DAY_MS) });
  t.equal(renewed.action, 'renewed', 'the serving certificate renewed');
  const rolled = await ensureTlsSecret(kube, { ...options, now: () => new Date(Date.now() + 7 * 365 * DAY_MS) });
  t.equal(splitPemBundle(rolled.material.ca).length, 2, 'a new CA, the old one still trusted');
  t.equal(await patchWebhookCaBundle(kube, names.configuration, rolled.material.ca), true, 'the caBundle patched');

  // An earlier version's layout: the CA key in the serving Secret, no CA Secret.
  const ca = await adminCore.readNamespacedSecret({ namespace: ns.system, name: names.caSecret });
  const serving = await adminCore.readNamespacedSecret({ namespace: ns.system, name: names.secret });
  await adminCore.deleteNamespacedSecret({ namespace: ns.system, name: names.caSecret });
  const legacy: V1Secret = { ...serving, data: { ...serving.data, 'ca.crt': ca.data!['tls.crt']!, 'ca.key': ca.data!['tls.key']! } };
  await adminCore.replaceNamespacedSecret({ namespace: ns.system, name: names.secret, body: legacy });
  await closeWebhook();
  const migrated = await ensureTlsSecret(kube, { ...options, now: () => new Date(Date.now() + 7 * 365 * DAY_MS) });
  t.equal(migrated.migrated, true, 'migrated');
  const after = await adminCore.readNamespacedSecret({ namespace: ns.system, name: names.secret });
  t.notOk(after.data?.['ca.key'], 'the CA key left the serving Secret');
  const moved = await adminCore.readNamespacedSecret({ namespace: ns.system, name: names.caSecret });
  t.equal(moved.data?.['tls.key'], ca.data?.['tls.key'], 'into the CA Secret');
});

t.test('every call allowed, every granted permission used, fixed names named', async (t) => {
  // Stopping releases the Leases (get + update) as a rollout would.
  await closeApi();
  await controller.stop();
  t.same(nonResourceDenials, [], 'no non-resource request refused');
  for (const part of PARTS) {
    const user = username(part);
    const made = calls.filter((c) => c.user === user);
    t.ok(made.length > 0, `${part}: made ${made.length} calls`);
    const refused = made.filter((c) => !c.allowed).map(describe);
    t.same([...new Set(refused)], [], `${part}: no call refused (403)`);

    const granted = rulesOf(objects, { namespace: ns.system, name: `k8s-job-manager-${part}` });
    for (const rule of granted) {
      for (const permission of expandRule(rule.rule)) {
        const used = made.some((c) => usedBy(c, permission, rule));
        t.ok(used, `${part}: ${permission.verb} ${permission.group || 'core'}/${permission.resource}${permission.name ? `/${permission.name}` : ''} (${rule.from}) is used`);
      }
      if (!rule.rule.resourceNames?.length) {
        const unnamed = (rule.rule.resources ?? []).filter((r) => NAMED_OBJECTS.has(r)).flatMap((r) => rule.rule.verbs.filter((v) => NAMEABLE_VERBS.has(v)).map((v) => `${v} ${r}`));
        t.same(unnamed, [], `${part}: ${rule.from} names the objects it lets ${part} read or change`);
      }
    }
  }
  const summary = [...new Set(calls.filter((c) => c.user.startsWith(`system:serviceaccount:${ns.system}:`)).map((c) => `${c.user.split(':').pop()}: ${describe(c)}`))].sort();
  t.comment(`calls made:\n${summary.join('\n')}`);
});

function describe(call: Access): string {
  return `${call.verb} ${call.group || 'core'}/${call.resource}${call.name ? `/${call.name}` : ''} in ${call.namespace ?? '(cluster)'}`;
}

function usedBy(call: Call, permission: Omit<Access, 'namespace'>, rule: GrantedRule): boolean {
  return (
    call.allowed &&
    call.verb === permission.verb &&
    call.group === permission.group &&
    call.resource === permission.resource &&
    (permission.name === undefined || call.name === permission.name) &&
    (rule.namespace === undefined || call.namespace === rule.namespace)
  );
}
