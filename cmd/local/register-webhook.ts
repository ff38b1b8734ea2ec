/**
 * Registers the webhook in the embedded cluster with the very
 * MutatingWebhookConfiguration the manifests ship (k8s-manifests/base), so
 * the local default runs the same admission rules as a real deployment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { isApiError, type KubeHttp } from '../../lib/kube/http.js';
import { fromWire } from '../../lib/kube/objects.js';
import { packageRoot } from '../../lib/package-root.js';

export function shippedWebhookConfiguration(): V1MutatingWebhookConfiguration {
  const base = path.join(packageRoot(), 'k8s-manifests', 'base');
  for (const file of readdirSync(base).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(base, file), 'utf8'))) {
      const value = doc.toJS() as { kind?: string } | null;
      if (value?.kind === 'MutatingWebhookConfiguration') return value as V1MutatingWebhookConfiguration;
    }
  }
  throw new Error(`no MutatingWebhookConfiguration in ${base}`);
}

/**
 * Creates the configuration with our namespace, the jobs namespace and our CA
 * (what the overlays set in a real deployment); the service is mapped to the
 * local webhook by the caller. A cluster that kept its state from an earlier
 * run already has it: it is replaced (the webhook's CA is new each run).
 */
export async function registerWebhook(http: KubeHttp, namespace: string, jobsNamespace: string, caPem: string): Promise<V1MutatingWebhookConfiguration> {
  const config = shippedWebhookConfiguration();
  const caBundle = Buffer.from(caPem).toString('base64');
  for (const webhook of config.webhooks ?? []) {
    webhook.clientConfig.caBundle = caBundle;
    if (webhook.clientConfig.service) webhook.clientConfig.service.namespace = namespace;
    for (const expression of webhook.namespaceSelector?.matchExpressions ?? []) {
      // The manifests select the jobs namespace by name (the overlays set it); here that is the local one.
      if (expression.key === 'kubernetes.io/metadata.name' && expression.operator === 'In') expression.values = [jobsNamespace];
    }
  }
  delete config.metadata?.annotations;
  const path = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
  try {
    return fromWire<V1MutatingWebhookConfiguration>(await http.request({ method: 'POST', path, body: config }), 'V1MutatingWebhookConfiguration');
  } catch (error) {
    if (!isApiError(error, 409)) throw error;
    const name = encodeURIComponent(config.metadata?.name ?? '');
    const existing = fromWire<V1MutatingWebhookConfiguration>(await http.request({ path: `${path}/${name}` }), 'V1MutatingWebhookConfiguration');
    const body = { ...config, metadata: { ...config.metadata, resourceVersion: existing.metadata?.resourceVersion } };
    return fromWire<V1MutatingWebhookConfiguration>(await http.request({ method: 'PUT', path: `${path}/${name}`, body }), 'V1MutatingWebhookConfiguration');
  }
}
