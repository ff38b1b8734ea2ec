/**
 * The kustomize manifests, rendered with this machine's kubectl: every
 * object valid against the Kubernetes schemas, and the deployment's
 * invariants — namespaces, restricted security contexts, probes, resources,
 * replicas and disruption budgets, Services and flags that agree with each
 * other, the webhook configuration, the Secrets and the configuration.
 * (RBAC: rbac.test.ts. Loading into local-cluster: local-cluster.test.ts.)
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type {
  V1ConfigMap,
  V1Container,
  V1MutatingWebhookConfiguration,
  V1PodDisruptionBudget,
  V1RoleBinding,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { JOB_CONTROLLER_USERS, MANAGED_LABEL, MANAGED_LABEL_VALUE } from '../../lib/contract.js';
import { kubectlBinaries } from './helpers/kubectl.js';
import {
  MANIFESTS,
  OVERLAYS,
  PARTS,
  REPO_ROOT,
  containerOf,
  deploymentOf,
  findObject,
  flagValue,
  idOf,
  namespacesOf,
  ofKind,
  render,
  webhookNames,
  type KubeObject,
  type OverlayName,
  type Part,
} from './helpers/manifests.js';
import { schemaProblems } from './helpers/schema.js';

const CONFIG_PATH = '/pygeoapi/local.config.yml';
/** Overlay objects are rendered once per overlay and shared by the tests below. */
const rendered = new Map<OverlayName, Promise<KubeObject[]>>();
const objectsOf = (overlay: OverlayName): Promise<KubeObject[]> => {
  if (!rendered.has(overlay)) rendered.set(overlay, render(OVERLAYS[overlay]).then((r) => r.objects));
  return rendered.get(overlay)!;
};

const PART_FLAG: Record<Part, string> = { api: '--api', webhook: '--webhook', controller: '--controller' };

function envNames(container: V1Container): string[] {
  return (container.env ?? []).map((e) => e.name);
}

function configMapNames(container: V1Container): string[] {
  return (container.envFrom ?? []).flatMap((e) => (e.configMapRef?.name ? [e.configMapRef.name] : []));
}

t.test('the base configuration is a copy of the repository\'s pygeoapi-config.yaml', async (t) => {
  const [root, copy] = await Promise.all([
    readFile(path.join(REPO_ROOT, 'pygeoapi-config.yaml'), 'utf8'),
    readFile(path.join(MANIFESTS, 'base/pygeoapi-config.yaml'), 'utf8'),
  ]);
  t.equal(copy, root, 'k8s-manifests/base/pygeoapi-config.yaml equals pygeoapi-config.yaml (cp pygeoapi-config.yaml k8s-manifests/base/)');
});

t.test('every kubectl renders the same manifests, and `kubectl apply -k k8s-manifests/` is the plain overlay', async (t) => {
  const binaries = await kubectlBinaries();
  t.ok(binaries.length > 0, `kubectl found (${binaries.join(', ')})`);
  for (const overlay of Object.keys(OVERLAYS) as OverlayName[]) {
    const outputs = await Promise.all(binaries.map(async (binary) => ({ binary, text: (await render(OVERLAYS[overlay], binary)).text })));
    for (const { binary, text } of outputs.slice(1)) t.equal(text, outputs[0]!.text, `${overlay}: ${path.basename(binary)} renders what ${path.basename(outputs[0]!.binary)} does`);
  }
  t.equal((await render(MANIFESTS)).text, (await render(OVERLAYS.plain)).text, 'k8s-manifests/ renders overlays/plain');
});

for (const overlay of Object.keys(OVERLAYS) as OverlayName[]) {
  t.test(`${overlay}: every object is valid against its schema`, async (t) => {
    const objects = await objectsOf(overlay);
    t.ok(objects.length >= 20, `${objects.length} objects`);
    for (const o of objects) t.same(schemaProblems(o), [], `${idOf(o)} is valid`);
    const ids = objects.map(idOf);
    t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no object twice');
  });

  t.test(`${overlay}: namespaces`, async (t) => {
    const objects = await objectsOf(overlay);
    const ns = namespacesOf(objects);
    t.not(ns.system, ns.jobs, 'jobs run in a namespace of their own (the webhook skips the manager\'s)');
    t.same(ofKind(objects, 'Namespace').map((n) => n.metadata.name).sort(), [ns.system, ns.jobs].sort(), 'both namespaces are created');
    const system = findObject(objects, 'Namespace', ns.system);
    t.equal(system.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'the manager\'s namespace enforces the restricted Pod Security Standard');
    t.equal(findObject(objects, 'Namespace', ns.jobs).metadata.labels?.['pod-security.kubernetes.io/enforce'], 'baseline', 'the jobs namespace enforces baseline');
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration']);
    for (const o of objects) {
      if (clusterScoped.has(o.kind)) t.equal(o.metadata.namespace, undefined, `${idOf(o)} is cluster-scoped`);
      else if (o.kind === 'Role' || o.kind === 'RoleBinding' || o.kind === 'NetworkPolicy') t.ok([ns.system, ns.jobs].includes(o.metadata.namespace ?? ''), `${idOf(o)} is in one of ours`);
      else t.equal(o.metadata.namespace, ns.system, `${idOf(o)} is in the manager's namespace`);
    }
    for (const binding of [...ofKind<V1RoleBinding>(objects, 'RoleBinding'), ...ofKind<V1RoleBinding>(objects, 'ClusterRoleBinding')]) {
      for (const subject of binding.subjects ?? []) {
        t.equal(subject.namespace, ns.system, `${binding.kind} ${binding.metadata?.name}: ServiceAccount ${subject.name} in the manager's namespace`);
        findObject(objects, 'ServiceAccount', subject.name, ns.system);
      }
    }
  });

  t.test(`${overlay}: Deployments`, async (t) => {
    const objects = await objectsOf(overlay);
    const ns = namespacesOf(objects);
    const version = (JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const minimumReplicas: Record<Part, number> = { api: 2, webhook: 2, controller: 2 };
    t.same(ofKind(objects, 'Deployment').map((d) => d.metadata.name).sort(), PARTS.map((p) => `k8s-job-manager-${p}`).sort(), 'one Deployment per part');
    for (const part of PARTS) {
      const deployment = deploymentOf(objects, part);
      const pod = deployment.spec!.template.spec!;
      const container = containerOf(deployment);
      const args = container.args ?? [];
      const name = deployment.metadata!.name!;
      t.ok((deployment.spec?.replicas ?? 1) >= minimumReplicas[part], `${name}: at least ${minimumReplicas[part]} replicas`);
      t.same(deployment.spec?.selector.matchLabels, { 'app.kubernetes.io/name': 'k8s-job-manager', 'app.kubernetes.io/component': part }, `${name}: selects its part`);
      t.match(deployment.spec?.template.metadata?.labels, deployment.spec?.selector.matchLabels ?? {}, `${name}: pods carry the selected labels`);

      // The part, run by `serve`, on the mounted configuration.
      t.same(args.slice(0, 3), ['serve', '--config', CONFIG_PATH], `${name}: serve --config ${CONFIG_PATH}`);
      t.same(PARTS.filter((p) => args.includes(PART_FLAG[p])), [part], `${name}: runs only the ${part}`);
      t.equal(container.image, `k8s-job-manager:${version}`, `${name}: image tag is the package version`);
      const mount = container.volumeMounts?.find((m) => m.mountPath === path.dirname(CONFIG_PATH));
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      t.same(volume?.configMap?.items, [{ key: 'pygeoapi-config.yaml', path: path.basename(CONFIG_PATH) }], `${name}: configuration mounted at ${CONFIG_PATH}`);
      findObject(objects, 'ConfigMap', volume?.configMap?.name ?? '', ns.system);
      t.equal(findObject<V1ConfigMap>(objects, 'ConfigMap', volume?.configMap?.name ?? '').data?.['pygeoapi-config.yaml'], await readFile(path.join(REPO_ROOT, 'pygeoapi-config.yaml'), 'utf8'), `${name}: the ConfigMap holds pygeoapi-config.yaml`);
      t.equal(pod.serviceAccountName, `k8s-job-manager-${part}`, `${name}: its own ServiceAccount`);
      findObject(objects, 'ServiceAccount', pod.serviceAccountName ?? '', ns.system);
      for (const ref of container.envFrom ?? []) {
        if (ref.configMapRef) findObject(objects, 'ConfigMap', ref.configMapRef.name ?? '', ns.system);
        if (ref.secretRef) findObject(objects, 'Secret', ref.secretRef.name ?? '', ns.system);
      }
      for (const env of container.env ?? []) {
        const secret = env.valueFrom?.secretKeyRef;
        if (secret) findObject(objects, 'Secret', secret.name ?? '', ns.system);
      }
      t.ok(envNames(container).includes('PYGEOAPI_CONFIG'), `${name}: PYGEOAPI_CONFIG set`);

      // Restricted Pod Security Standard.
      t.equal(pod.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
      t.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${name}: a non-zero runAsUser`);
      t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${name}: seccomp RuntimeDefault`);
      t.equal(container.securityContext?.allowPrivilegeEscalation, false, `${name}: no privilege escalation`);
      t.same(container.securityContext?.capabilities, { drop: ['ALL'] }, `${name}: all capabilities dropped, none added`);
      t.equal(container.securityContext?.readOnlyRootFilesystem, true, `${name}: read-only root filesystem`);
      t.notOk(container.securityContext?.privileged, `${name}: not privileged`);
      t.notOk(pod.hostNetwork || pod.hostPID || pod.hostIPC, `${name}: no host namespaces`);
      t.same((pod.volumes ?? []).filter((v) => v.hostPath), [], `${name}: no hostPath volumes`);

      // Probes on the ops server, which every part has.
      const opsPort = Number(flagValue(args, '--ops-port') ?? 9090);
      const ops = container.ports?.find((p) => p.name === 'ops');
      t.equal(ops?.containerPort, opsPort, `${name}: port "ops" is --ops-port ${opsPort}`);
      t.match(container.livenessProbe?.httpGet, { path: '/healthz', port: 'ops' }, `${name}: liveness on /healthz`);
      t.match(container.readinessProbe?.httpGet, { path: '/readyz', port: 'ops' }, `${name}: readiness on /readyz`);
      t.equal(deployment.spec?.template.metadata?.annotations?.['prometheus.io/port'], String(opsPort), `${name}: metrics are scraped from the ops port`);

      // Requests and limits.
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) t.ok(container.resources?.[kind]?.[resource], `${name}: ${resource} ${kind}`);
      }
    }

    // Who gets which settings.
    const api = containerOf(deploymentOf(objects, 'api'));
    const webhook = containerOf(deploymentOf(objects, 'webhook'));
    const controller = containerOf(deploymentOf(objects, 'controller'));
    const jobsConfig = ofKind<V1ConfigMap>(objects, 'ConfigMap').find((c) => c.data?.PYGEOAPI_K8S_MANAGER_NAMESPACE !== undefined);
    t.equal(jobsConfig?.data?.PYGEOAPI_K8S_MANAGER_NAMESPACE, ns.jobs, 'the jobs namespace setting names the jobs Namespace');
    for (const [name, container] of [['api', api], ['controller', controller]] as const) {
      t.ok(configMapNames(container).includes(jobsConfig?.metadata?.name ?? ''), `${name}: works in the jobs namespace`);
      t.ok((container.envFrom ?? []).some((e) => e.secretRef?.name === 'k8s-job-manager-bucket' && e.secretRef.optional === true), `${name}: bucket settings from the optional Secret`);
    }
    t.notOk(configMapNames(webhook).includes(jobsConfig?.metadata?.name ?? '') || envNames(webhook).includes('PYGEOAPI_K8S_MANAGER_NAMESPACE'), 'webhook: stays in its own namespace (its Service and Secret are there)');
    t.same(
      api.env?.find((e) => e.name === 'PYGEOAPI_K8S_MANAGER_API_TOKEN')?.valueFrom?.secretKeyRef,
      { name: 'k8s-job-manager', key: 'token', optional: true },
      'api: the token from the Secret k8s-job-manager, key token (as the Python manager)',
    );
    const shared = ofKind<V1ConfigMap>(objects, 'ConfigMap').find((c) => c.metadata?.name?.startsWith('k8s-job-manager-env-'));
    for (const [name, container] of [['api', api], ['webhook', webhook], ['controller', controller]] as const) {
      t.ok(configMapNames(container).includes(shared?.metadata?.name ?? '-'), `${name}: the shared settings every part must agree on`);
    }
  });

  t.test(`${overlay}: Services and disruption budgets`, async (t) => {
    const objects = await objectsOf(overlay);
    const apiDeployment = deploymentOf(objects, 'api');
    const api = containerOf(apiDeployment);
    const apiService = findObject<V1Service>(objects, 'Service', 'k8s-job-manager');
    t.same(apiService.spec?.selector, apiDeployment.spec?.selector.matchLabels, 'API Service selects the API pods');
    t.equal(apiService.spec?.ports?.[0]?.port, 80, 'API Service on port 80');
    const apiPort = api.ports?.find((p) => p.name === apiService.spec?.ports?.[0]?.targetPort);
    t.equal(String(apiPort?.containerPort), flagValue(api.args ?? [], '--port'), 'API Service targets the port given by --port');

    const webhookDeployment = deploymentOf(objects, 'webhook');
    const webhook = containerOf(webhookDeployment);
    const webhookService = findObject<V1Service>(objects, 'Service', webhookNames(objects).service);
    t.same(webhookService.spec?.selector, webhookDeployment.spec?.selector.matchLabels, 'webhook Service (--webhook-service) selects the webhook pods');
    t.equal(webhookService.spec?.ports?.[0]?.port, 443, 'webhook Service on 443');
    const webhookPort = webhook.ports?.find((p) => p.name === webhookService.spec?.ports?.[0]?.targetPort);
    t.equal(webhookPort?.containerPort, 8443, 'webhook Service targets 8443');
    t.equal(String(webhookPort?.containerPort), flagValue(webhook.args ?? [], '--webhook-port'), '... which is --webhook-port');

    for (const part of ['api', 'webhook'] as const) {
      const deployment = deploymentOf(objects, part);
      const pdb = findObject<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', `k8s-job-manager-${part}`);
      t.same(pdb.spec?.selector?.matchLabels, deployment.spec?.selector.matchLabels, `${part}: the budget covers its pods`);
      t.ok(Number(pdb.spec?.minAvailable) >= 1 && Number(pdb.spec?.minAvailable) < (deployment.spec?.replicas ?? 1), `${part}: keeps one pod up and still lets nodes drain`);
      t.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0, `${part}: rollouts never drop below the replica count`);
    }
  });

  t.test(`${overlay}: the MutatingWebhookConfiguration`, async (t) => {
    const objects = await objectsOf(overlay);
    const ns = namespacesOf(objects);
    const names = webhookNames(objects);
    const configs = ofKind<V1MutatingWebhookConfiguration>(objects, 'MutatingWebhookConfiguration');
    t.equal(configs.length, 1, 'one webhook configuration');
    const config = configs[0]!;
    t.equal(config.metadata?.name, names.configuration, 'named as the webhook\'s --webhook-configuration');
    const service = findObject<V1Service>(objects, 'Service', names.service);
    t.same(config.webhooks?.map((w) => w.name), ['k8s-job-manager.pygeoapi.io', 'job-pods.k8s-job-manager.pygeoapi.io'], 'the managed-object webhook and the Job-membership guard');
    const webhook = config.webhooks![0]!;
    t.same(webhook.clientConfig.service, { name: service.metadata?.name, namespace: ns.system, path: '/mutate', port: service.spec?.ports?.[0]?.port }, 'calls POST /mutate on the webhook Service');
    t.equal(webhook.clientConfig.caBundle, undefined, 'no caBundle in the manifest: the webhook or cert-manager writes it, and apply keeps it');
    t.same(webhook.rules, [
      { operations: ['CREATE', 'UPDATE'], apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs'], scope: 'Namespaced' },
      { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
    ], 'Job creation and update (a Job keeps its id and owner), pod creation');
    t.same(webhook.objectSelector, { matchLabels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE } }, 'only labelled objects');
    t.same(webhook.namespaceSelector, { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns.jobs] }] }, 'only the jobs namespace');
    t.equal(webhook.sideEffects, 'None', 'sideEffects None');
    t.same(webhook.admissionReviewVersions, ['v1'], 'admission.k8s.io/v1');
    t.equal(webhook.reinvocationPolicy, 'IfNeeded', 'reinvoked if needed');
    t.equal(webhook.timeoutSeconds, 5, 'timeout 5 s');
    t.equal(webhook.failurePolicy, 'Ignore', 'fails open (the controller backfills the finalizer)');
    const guard = config.webhooks![1]!;
    t.same(guard.clientConfig, webhook.clientConfig, 'the guard calls the same endpoint');
    t.same(guard.rules, [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }], 'guard: pod creation and update');
    t.equal(guard.objectSelector, undefined, 'guard: no objectSelector (an ownerReference cannot be selected on)');
    t.same(guard.namespaceSelector, webhook.namespaceSelector, 'guard: only the jobs namespace');
    t.equal(guard.failurePolicy, 'Fail', 'guard: fails closed (it only sees pods claiming a Job made by someone else)');
    t.equal(guard.sideEffects, 'None', 'guard: sideEffects None');
    const conditions = Object.fromEntries((guard.matchConditions ?? []).map((c) => [c.name, c.expression]));
    t.same(Object.keys(conditions), ['not-the-job-controller', 'adds-a-claim'], 'guard: its match conditions (their meaning: webhook-match-conditions.test.ts)');
    const quoted = (text: string | undefined): string[] => [...(text ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1]!);
    t.same(quoted(conditions['not-the-job-controller']), [...JOB_CONTROLLER_USERS], 'guard: skips exactly the default PYGEOAPI_K8S_MANAGER_JOB_CONTROLLER_USERS');
    const cainject = config.metadata?.annotations?.['cert-manager.io/inject-ca-from'];
    if (overlay === 'plain') {
      t.equal(cainject, undefined, 'plain: no cert-manager annotation');
      t.equal(names.tlsDir, undefined, 'plain: the webhook manages its TLS Secret');
    } else {
      const certificate = findObject(objects, 'Certificate', cainject?.split('/')[1] ?? '', ns.system);
      t.equal(cainject, `${ns.system}/${certificate.metadata.name}`, 'cert-manager: the CA is injected from our Certificate');
      const spec = certificate.spec as { secretName: string; dnsNames: string[]; issuerRef: { name: string; kind: string } };
      t.same(spec.dnsNames, [`${names.service}.${ns.system}.svc`, `${names.service}.${ns.system}.svc.cluster.local`], 'the certificate names the webhook Service');
      findObject(objects, spec.issuerRef.kind, spec.issuerRef.name, ns.system);
      const deployment = deploymentOf(objects, 'webhook');
      const mount = containerOf(deployment).volumeMounts?.find((m) => m.mountPath === names.tlsDir);
      const volume = deployment.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
      t.equal(volume?.secret?.secretName, spec.secretName, 'the Certificate\'s Secret is mounted at --tls-dir');
      t.notOk((containerOf(deployment).args ?? []).includes('--webhook-secret'), 'no self-managed Secret with cert-manager');
    }
  });

  t.test(`${overlay}: Secrets are shipped without data`, async (t) => {
    const objects = await objectsOf(overlay);
    for (const name of ['k8s-job-manager', 'k8s-job-manager-bucket']) {
      const secret = findObject<V1Secret>(objects, 'Secret', name);
      t.equal(secret.type, 'Opaque', `${name}: Opaque, as kubectl create secret generic makes it`);
      t.same([secret.data, secret.stringData], [undefined, undefined], `${name}: no data, so apply never overwrites the operator's values`);
    }
    t.same(ofKind(objects, 'Secret').map((s) => s.metadata.name).sort(), ['k8s-job-manager', 'k8s-job-manager-bucket'], 'no other Secrets');
  });
}

t.test('the namespace settings of an overlay move everything', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'k8s-manifests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(MANIFESTS, path.join(dir, 'k8s-manifests'), { recursive: true });
  for (const overlay of Object.keys(OVERLAYS) as OverlayName[]) {
    const file = path.join(dir, 'k8s-manifests/overlays', overlay, 'kustomization.yaml');
    const original = await readFile(file, 'utf8');
    const changed = original.replace('namespace: k8s-job-manager\n', 'namespace: ogc-system\n').replace('PYGEOAPI_K8S_MANAGER_NAMESPACE=pygeoapi-jobs', 'PYGEOAPI_K8S_MANAGER_NAMESPACE=ogc-jobs');
    t.not(changed, original, `${overlay}: both settings found`);
    await writeFile(file, changed);
    const { text, objects } = await render(path.dirname(file));
    t.same(namespacesOf(objects), { system: 'ogc-system', jobs: 'ogc-jobs' }, `${overlay}: the settings are read back`);
    t.same(ofKind(objects, 'Namespace').map((n) => n.metadata.name).sort(), ['ogc-jobs', 'ogc-system'], `${overlay}: the Namespaces are renamed`);
    t.notMatch(text, /\bpygeoapi-jobs\b/, `${overlay}: no trace of the default jobs namespace`);
    const leftovers = text.split('\n').filter((line) => /namespace: k8s-job-manager$|\.k8s-job-manager\.svc|inject-ca-from: k8s-job-manager\//.test(line));
    t.same(leftovers, [], `${overlay}: no namespace reference left at k8s-job-manager`);
    for (const webhook of ofKind<V1MutatingWebhookConfiguration>(objects, 'MutatingWebhookConfiguration')[0]?.webhooks ?? []) {
      t.equal(webhook.clientConfig.service?.namespace, 'ogc-system', `${overlay}: ${webhook.name} is called in the new namespace`);
      t.same(webhook.namespaceSelector?.matchExpressions?.[0]?.values, ['ogc-jobs'], `${overlay}: ${webhook.name} serves the new jobs namespace only`);
    }
    for (const o of objects) if (o.metadata.namespace) t.ok(['ogc-system', 'ogc-jobs'].includes(o.metadata.namespace), `${overlay}: ${idOf(o)} moved`);
  }
});
