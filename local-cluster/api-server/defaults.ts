/**
 * Defaulting, as the real server applies it when it decodes an object: the
 * fields clients see filled in although they never sent them.
 */
import { isRecord, type KubeObject } from './types.js';

type Json = Record<string, unknown>;

function setDefault(target: Json, field: string, value: unknown): void {
  if (target[field] === undefined) target[field] = value;
}

function imagePullPolicyFor(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  const lastSegment = image.split('/').pop() ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const tag = lastSegment.includes(':') ? lastSegment.split(':').pop() : undefined;
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: unknown): void {
  if (!isRecord(container)) return;
  setDefault(container, 'terminationMessagePath', '/dev/termination-log');
  setDefault(container, 'terminationMessagePolicy', 'File');
  setDefault(container, 'imagePullPolicy', imagePullPolicyFor(container.image));
  setDefault(container, 'resources', {});
}

export function defaultPodSpec(spec: unknown): void {
  if (!isRecord(spec)) return;
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  for (const list of ['containers', 'initContainers']) {
    const containers = spec[list];
    if (Array.isArray(containers)) containers.forEach(defaultContainer);
  }
}

function defaultJob(obj: KubeObject): void {
  const spec = obj.spec;
  if (!isRecord(spec)) return;
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completions', 1);
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
  const template = spec.template;
  if (isRecord(template)) defaultPodSpec(template.spec);
}

function defaultNamespace(obj: KubeObject): void {
  const name = obj.metadata.name;
  if (name) obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': name };
  obj.spec = { finalizers: ['kubernetes'], ...(isRecord(obj.spec) ? obj.spec : {}) };
}

/** Secrets: `stringData` is write-only; the server folds it into base64 `data`. */
function defaultSecret(obj: KubeObject): void {
  setDefault(obj, 'type', 'Opaque');
  if (isRecord(obj.stringData)) {
    const data: Record<string, unknown> = isRecord(obj.data) ? { ...obj.data } : {};
    for (const [key, value] of Object.entries(obj.stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    obj.data = data;
    delete obj.stringData;
  }
}

function defaultService(obj: KubeObject): void {
  const spec: Json = isRecord(obj.spec) ? obj.spec : (obj.spec = {});
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') {
    setDefault(spec, 'internalTrafficPolicy', 'Cluster');
    setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    setDefault(spec, 'ipFamilies', ['IPv4']);
  }
  if (Array.isArray(spec.ports)) {
    for (const port of spec.ports) {
      if (!isRecord(port)) continue;
      setDefault(port, 'protocol', 'TCP');
      setDefault(port, 'targetPort', port.port);
    }
  }
}

/** admissionregistration/v1 defaults of each mutating webhook. */
function defaultMutatingWebhookConfiguration(obj: KubeObject): void {
  if (!Array.isArray(obj.webhooks)) return;
  for (const webhook of obj.webhooks) {
    if (!isRecord(webhook)) continue;
    setDefault(webhook, 'failurePolicy', 'Fail');
    setDefault(webhook, 'matchPolicy', 'Equivalent');
    setDefault(webhook, 'namespaceSelector', {});
    setDefault(webhook, 'objectSelector', {});
    setDefault(webhook, 'timeoutSeconds', 10);
    setDefault(webhook, 'reinvocationPolicy', 'Never');
    if (Array.isArray(webhook.rules)) for (const rule of webhook.rules) if (isRecord(rule)) setDefault(rule, 'scope', '*');
    const service = isRecord(webhook.clientConfig) && isRecord(webhook.clientConfig.service) ? webhook.clientConfig.service : undefined;
    if (service) setDefault(service, 'port', 443);
  }
}

/** Applies the kind's defaults in place. */
export function applyDefaults(obj: KubeObject): void {
  switch (obj.kind) {
    case 'Pod':
      defaultPodSpec(obj.spec);
      // SetDefaults_Pod, not of pod templates.
      if (isRecord(obj.spec)) setDefault(obj.spec, 'enableServiceLinks', true);
      return;
    case 'Job':
      defaultJob(obj);
      return;
    case 'Namespace':
      defaultNamespace(obj);
      return;
    case 'Secret':
      defaultSecret(obj);
      return;
    case 'Service':
      defaultService(obj);
      return;
    case 'MutatingWebhookConfiguration':
      defaultMutatingWebhookConfiguration(obj);
      return;
    default:
      return;
  }
}
