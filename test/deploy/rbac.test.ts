/**
 * RBAC of the manifests against the code as written: every Kubernetes call
 * the code makes is listed below (with the file it is in and the text that
 * shows it), and each must be allowed to the ServiceAccount of the part that
 * makes it, in the namespace where it is made. Conversely every permission
 * the manifests grant must be used by some call. A scan of the source makes
 * sure no call is missing from the table, and each row's evidence must still
 * be in its file. This covers code paths a test flow rarely reaches (give-up
 * Events, say); rbac-e2e.test.ts checks the same Roles against the calls the
 * parts really make, each under its own ServiceAccount.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { V1ClusterRole, V1Role } from '@kubernetes/client-node';
import { DEFAULT_TUNING } from '../../controller/settings.js';
import { scanCalls, sourceFiles } from './helpers/kube-call-scan.js';
import { OVERLAYS, REPO_ROOT, findObject, maybeObject, namespacesOf, ofKind, render, webhookNames, type KubeObject, type OverlayName, type Part } from './helpers/manifests.js';
import { allows, expandRule, rulesOf, type Access } from './helpers/rbac.js';

/** Where a call goes: the jobs namespace, the manager's own, or cluster-scoped. */
type Scope = 'jobs' | 'system' | 'cluster';

interface NameContext {
  webhookSecret: string;
  webhookCaSecret: string;
  webhookConfiguration: string;
}

interface KubeCall {
  file: string;
  /** Text in the file that makes (or implies) the call. */
  evidence: string;
  part: Part;
  group: string;
  resource: string;
  verb: string;
  scope: Scope;
  /** The object's name when the call names one (RBAC resourceNames can only restrict those). */
  name?: string | ((names: NameContext) => string);
  /** Made only by the webhook's self-managed TLS (not with --tls-dir, i.e. not in the cert-manager overlay). */
  selfManagedTlsOnly?: boolean;
}

const CONTROLLER_LEASE = DEFAULT_TUNING.leaderElection.leaseName;

// prettier-ignore
const KUBE_CALLS: KubeCall[] = [
  // API: creating, reading, dismissing Jobs and reading container logs.
  { file: 'api/kube/job-client.ts', evidence: "method: 'POST', path: this.jobPath()", part: 'api', group: 'batch', resource: 'jobs', verb: 'create', scope: 'jobs' },
  { file: 'api/kube/job-client.ts', evidence: 'request({ path: this.jobPath(jobName) })', part: 'api', group: 'batch', resource: 'jobs', verb: 'get', scope: 'jobs' },
  { file: 'api/kube/job-client.ts', evidence: "method: 'PATCH', path: this.jobPath(jobName)", part: 'api', group: 'batch', resource: 'jobs', verb: 'patch', scope: 'jobs' },
  { file: 'api/kube/job-client.ts', evidence: "method: 'DELETE', path: this.jobPath(jobName)", part: 'api', group: 'batch', resource: 'jobs', verb: 'delete', scope: 'jobs' },
  { file: 'api/kube/job-client.ts', evidence: 'return `/api/v1/namespaces/${this.namespace}/pods/${pod}/log`', part: 'api', group: '', resource: 'pods/log', verb: 'get', scope: 'jobs' },
  // API: the watch caches behind every status document.
  { file: 'api/kube/job-cache.ts', evidence: 'path: `/apis/batch/v1/namespaces/${namespace}/jobs`', part: 'api', group: 'batch', resource: 'jobs', verb: 'list', scope: 'jobs' },
  { file: 'api/kube/job-cache.ts', evidence: 'path: `/apis/batch/v1/namespaces/${namespace}/jobs`', part: 'api', group: 'batch', resource: 'jobs', verb: 'watch', scope: 'jobs' },
  { file: 'api/kube/job-cache.ts', evidence: 'path: `/api/v1/namespaces/${namespace}/pods`', part: 'api', group: '', resource: 'pods', verb: 'list', scope: 'jobs' },
  { file: 'api/kube/job-cache.ts', evidence: 'path: `/api/v1/namespaces/${namespace}/pods`', part: 'api', group: '', resource: 'pods', verb: 'watch', scope: 'jobs' },
  { file: 'api/kube/job-cache.ts', evidence: 'path: `/api/v1/namespaces/${namespace}/events`', part: 'api', group: '', resource: 'events', verb: 'list', scope: 'jobs' },
  { file: 'api/kube/job-cache.ts', evidence: 'path: `/api/v1/namespaces/${namespace}/events`', part: 'api', group: '', resource: 'events', verb: 'watch', scope: 'jobs' },
  // API: one replica sends callbacks, elected on a Lease (lib/kube/leader-election.ts: GET, POST, PUT).
  { file: 'api/index.ts', evidence: "name: 'k8s-job-manager-api-callbacks'", part: 'api', group: 'coordination.k8s.io', resource: 'leases', verb: 'get', scope: 'jobs', name: 'k8s-job-manager-api-callbacks' },
  { file: 'api/index.ts', evidence: 'new LeaderElector(', part: 'api', group: 'coordination.k8s.io', resource: 'leases', verb: 'create', scope: 'jobs' },
  { file: 'api/index.ts', evidence: "name: 'k8s-job-manager-api-callbacks'", part: 'api', group: 'coordination.k8s.io', resource: 'leases', verb: 'update', scope: 'jobs', name: 'k8s-job-manager-api-callbacks' },
  // API, `kubernetes` access-control mode: who a caller's token belongs to, and what RBAC allows it.
  { file: 'api/auth/kubernetes-reviews.ts', evidence: "method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews'", part: 'api', group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create', scope: 'cluster' },
  { file: 'api/auth/kubernetes-reviews.ts', evidence: "method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews'", part: 'api', group: 'authorization.k8s.io', resource: 'subjectaccessreviews', verb: 'create', scope: 'cluster' },
  // API: Events on Jobs whose callbacks were refused or given up.
  { file: 'api/kube/job-client.ts', evidence: "method: 'POST', path: `/api/v1/namespaces/${this.namespace}/events`", part: 'api', group: '', resource: 'events', verb: 'create', scope: 'jobs' },
  // Webhook: self-managed TLS (the serving and the CA Secret) and the caBundle of its MutatingWebhookConfiguration.
  { file: 'certs/tls-secret.ts', evidence: 'kube.request<V1Secret>({ path: `${secretsPath(namespace)}/${encodeURIComponent(name)}` })', part: 'webhook', group: '', resource: 'secrets', verb: 'get', scope: 'system', name: (n) => n.webhookSecret, selfManagedTlsOnly: true },
  { file: 'certs/tls-secret.ts', evidence: 'kube.request<V1Secret>({ path: `${secretsPath(namespace)}/${encodeURIComponent(name)}` })', part: 'webhook', group: '', resource: 'secrets', verb: 'get', scope: 'system', name: (n) => n.webhookCaSecret, selfManagedTlsOnly: true },
  { file: 'certs/tls-secret.ts', evidence: "method: 'POST', path: secretsPath(namespace)", part: 'webhook', group: '', resource: 'secrets', verb: 'create', scope: 'system', selfManagedTlsOnly: true },
  { file: 'certs/tls-secret.ts', evidence: "method: 'PUT', path: `${secretsPath(namespace)}/${encodeURIComponent(name)}`", part: 'webhook', group: '', resource: 'secrets', verb: 'update', scope: 'system', name: (n) => n.webhookSecret, selfManagedTlsOnly: true },
  { file: 'certs/tls-secret.ts', evidence: "method: 'PUT', path: `${secretsPath(namespace)}/${encodeURIComponent(name)}`", part: 'webhook', group: '', resource: 'secrets', verb: 'update', scope: 'system', name: (n) => n.webhookCaSecret, selfManagedTlsOnly: true },
  { file: 'certs/tls-secret.ts', evidence: 'kube.request<V1MutatingWebhookConfiguration>({ path: webhookConfigurationPath(configName) })', part: 'webhook', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'get', scope: 'cluster', name: (n) => n.webhookConfiguration, selfManagedTlsOnly: true },
  { file: 'certs/tls-secret.ts', evidence: "method: 'PATCH', path: webhookConfigurationPath(configName)", part: 'webhook', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verb: 'patch', scope: 'cluster', name: (n) => n.webhookConfiguration, selfManagedTlsOnly: true },
  // Controller: watches, log streams, finalizers, result annotations, Events, leader election.
  { file: 'controller/pod-cache.ts', evidence: 'path: `/api/v1/namespaces/${namespace}/pods`', part: 'controller', group: '', resource: 'pods', verb: 'list', scope: 'jobs' },
  { file: 'controller/pod-cache.ts', evidence: 'path: `/api/v1/namespaces/${namespace}/pods`', part: 'controller', group: '', resource: 'pods', verb: 'watch', scope: 'jobs' },
  { file: 'controller/pod-cache.ts', evidence: 'path: `/apis/batch/v1/namespaces/${namespace}/jobs`', part: 'controller', group: 'batch', resource: 'jobs', verb: 'list', scope: 'jobs' },
  { file: 'controller/pod-cache.ts', evidence: 'path: `/apis/batch/v1/namespaces/${namespace}/jobs`', part: 'controller', group: 'batch', resource: 'jobs', verb: 'watch', scope: 'jobs' },
  { file: 'controller/pod-cache.ts', evidence: 'path: `/apis/batch/v1/namespaces/${namespace}/jobs/${ref.name}`', part: 'controller', group: 'batch', resource: 'jobs', verb: 'get', scope: 'jobs' },
  { file: 'controller/index.ts', evidence: 'name: election.leaseName', part: 'controller', group: 'coordination.k8s.io', resource: 'leases', verb: 'get', scope: 'jobs', name: CONTROLLER_LEASE },
  { file: 'controller/index.ts', evidence: 'new LeaderElector(', part: 'controller', group: 'coordination.k8s.io', resource: 'leases', verb: 'create', scope: 'jobs' },
  { file: 'controller/index.ts', evidence: 'name: election.leaseName', part: 'controller', group: 'coordination.k8s.io', resource: 'leases', verb: 'update', scope: 'jobs', name: CONTROLLER_LEASE },
  { file: 'controller/archive-pod.ts', evidence: 'path: `/apis/batch/v1/namespaces/${namespace}/jobs/${jobName}`', part: 'controller', group: 'batch', resource: 'jobs', verb: 'patch', scope: 'jobs' },
  { file: 'controller/container-log-capture.ts', evidence: 'path: `/api/v1/namespaces/${this.deps.namespace}/pods/${this.deps.podName}/log`', part: 'controller', group: '', resource: 'pods/log', verb: 'get', scope: 'jobs' },
  { file: 'controller/pod-log-capture.ts', evidence: 'path: `/api/v1/namespaces/${namespace}/pods/${name}`', part: 'controller', group: '', resource: 'pods', verb: 'get', scope: 'jobs' },
  { file: 'controller/events.ts', evidence: "method: 'POST', path: `/api/v1/namespaces/${namespace}/events`", part: 'controller', group: '', resource: 'events', verb: 'create', scope: 'jobs' },
  { file: 'controller/pod-finalizer.ts', evidence: "method: 'PATCH', path: podPath(namespace, name)", part: 'controller', group: '', resource: 'pods', verb: 'patch', scope: 'jobs' },
  { file: 'controller/pod-finalizer.ts', evidence: 'path: podPath(namespace, name), signal', part: 'controller', group: '', resource: 'pods', verb: 'get', scope: 'jobs' },
];

/** Folders of code that runs in the cluster. */
const SCANNED = ['cmd', 'api', 'webhook', 'certs', 'controller', 'lib'];
/** Files whose calls are not the manager's own in a cluster, and why. */
const NOT_LISTED: Record<string, string> = {
  'lib/kube/leader-election.ts': 'calls on the Lease its callers name; listed under the callers (new LeaderElector)',
  'cmd/local/register-webhook.ts': 'the embedded default registers its webhook in its own stand-in cluster',
  'cmd/local/run-local.ts': 'the embedded default talks to its own stand-in cluster',
};

const serviceAccount = (part: Part, system: string): { namespace: string; name: string } => ({ namespace: system, name: `k8s-job-manager-${part}` });

function accessOf(call: KubeCall, objects: KubeObject[]): Access {
  const ns = namespacesOf(objects);
  const names = webhookNames(objects);
  const name = typeof call.name === 'function' ? call.name({ webhookSecret: names.secret, webhookCaSecret: names.caSecret, webhookConfiguration: names.configuration }) : call.name;
  return {
    group: call.group,
    resource: call.resource,
    verb: call.verb,
    ...(call.scope === 'cluster' ? {} : { namespace: call.scope === 'jobs' ? ns.jobs : ns.system }),
    ...(name !== undefined ? { name } : {}),
  };
}

const describe = (a: Access): string => `${a.verb} ${a.group || 'core'}/${a.resource}${a.name ? `/${a.name}` : ''} in ${a.namespace ?? '(cluster)'}`;

t.test('the table of calls matches the code', async (t) => {
  const files = (await sourceFiles(REPO_ROOT, SCANNED)).filter((f) => !(f in NOT_LISTED));
  const found = await scanCalls(REPO_ROOT, files);
  t.ok(found.length > 20, `the scan finds the calls (${found.length})`);
  for (const call of found) {
    const listed = KUBE_CALLS.some(
      (row) => row.file === call.file && row.group === call.group && row.resource === call.resource && (call.verb === undefined || row.verb === call.verb),
    );
    t.ok(listed, `${call.file}: ${call.verb ?? 'a call on'} ${call.group || 'core'}/${call.resource} (${call.evidence}) is in the table`);
  }
  for (const row of KUBE_CALLS) {
    const source = await readFile(path.join(REPO_ROOT, row.file), 'utf8').catch(() => '');
    t.ok(source.includes(row.evidence), `${row.file} still contains ${row.evidence}`);
  }
  for (const file of Object.keys(NOT_LISTED)) {
    const source = await readFile(path.join(REPO_ROOT, file), 'utf8').catch(() => undefined);
    t.ok(source !== undefined, `${file} (not listed: ${NOT_LISTED[file]}) exists`);
  }
});

for (const overlay of Object.keys(OVERLAYS) as OverlayName[]) {
  t.test(`${overlay}: every call is allowed to the part that makes it`, async (t) => {
    const { objects } = await render(OVERLAYS[overlay]);
    const { system } = namespacesOf(objects);
    const calls = KUBE_CALLS.filter((c) => overlay === 'plain' || !c.selfManagedTlsOnly);
    for (const call of calls) {
      const access = accessOf(call, objects);
      const granted = rulesOf(objects, serviceAccount(call.part, system));
      const by = allows(granted, access);
      t.ok(by, `${call.part} may ${describe(access)} (${call.file})${by ? ` — by ${by.from}` : ''}`);
    }
  });

  t.test(`${overlay}: nothing is granted beyond what the code uses`, async (t) => {
    const { objects } = await render(OVERLAYS[overlay]);
    const { system } = namespacesOf(objects);
    const calls = KUBE_CALLS.filter((c) => overlay === 'plain' || !c.selfManagedTlsOnly);
    for (const part of ['api', 'webhook', 'controller'] as const) {
      for (const granted of rulesOf(objects, serviceAccount(part, system))) {
        for (const permission of expandRule(granted.rule)) {
          const used = calls.some((call) => {
            if (call.part !== part) return false;
            const access = accessOf(call, objects);
            return (
              access.group === permission.group &&
              access.resource === permission.resource &&
              access.verb === permission.verb &&
              access.name === permission.name &&
              (granted.namespace === undefined || granted.namespace === access.namespace)
            );
          });
          t.ok(used, `${part}: ${permission.verb} ${permission.group || 'core'}/${permission.resource}${permission.name ? `/${permission.name}` : ''} (${granted.from}) is used by the code`);
        }
      }
    }
  });

  t.test(`${overlay}: the Roles hold exactly the specified rules`, async (t) => {
    const { objects } = await render(OVERLAYS[overlay]);
    const { system, jobs } = namespacesOf(objects);
    const names = webhookNames(objects);
    t.same(
      findObject<V1Role>(objects, 'Role', 'k8s-job-manager-api', jobs).rules,
      [
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch', 'create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['k8s-job-manager-api-callbacks'], verbs: ['get', 'update'] },
      ],
      'API: Jobs, the pod and Event caches, logs, its callback Lease, Events about refused callbacks',
    );
    t.same(
      findObject<V1Role>(objects, 'Role', 'k8s-job-manager-controller', jobs).rules,
      [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [CONTROLLER_LEASE], verbs: ['get', 'update'] },
      ],
      'controller: pods, logs, Jobs, Events, its Lease',
    );
    const tlsRole = maybeObject<V1Role>(objects, 'Role', 'k8s-job-manager-webhook-tls');
    const caRole = maybeObject<V1ClusterRole>(objects, 'ClusterRole', 'k8s-job-manager-webhook');
    if (overlay === 'plain') {
      t.equal(tlsRole?.metadata?.namespace, system, 'the TLS Role is in the manager\'s namespace');
      t.same(tlsRole?.rules, [
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: [names.secret, names.caSecret], verbs: ['get', 'update'] },
      ], 'webhook: its serving and CA Secrets only');
      t.same(caRole?.rules, [
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [names.configuration], verbs: ['get', 'patch'] },
      ], 'webhook: its MutatingWebhookConfiguration only');
    } else {
      t.equal(tlsRole, undefined, 'no Secret permissions with cert-manager');
      t.equal(caRole, undefined, 'no webhook-configuration permissions with cert-manager');
      const secretRules = [...ofKind<V1Role>(objects, 'Role'), ...ofKind<V1ClusterRole>(objects, 'ClusterRole')].flatMap((r) => r.rules ?? []).filter((r) => r.resources?.includes('secrets'));
      t.same(secretRules, [], 'no rule anywhere mentions Secrets');
    }
    t.same(
      ofKind(objects, 'Role').map((r) => r.metadata.name).sort(),
      overlay === 'plain'
        ? ['k8s-job-manager-api', 'k8s-job-manager-controller', 'k8s-job-manager-webhook-tls']
        : ['k8s-job-manager-api', 'k8s-job-manager-controller'],
      'no other Roles',
    );
  });
}
