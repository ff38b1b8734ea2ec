/**
 * Registers the webhook in the embedded cluster with the very
 * MutatingWebhookConfiguration the manifests ship (k8s-manifests/base), so
 * the local default runs the same admission rules as a real deployment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AdmissionregistrationV1Api, ApiException, type KubeConfig, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
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
export async function registerWebhook(kubeConfig: KubeConfig, namespace: string, jobsNamespace: string, caPem: string): Promise<V1MutatingWebhookConfiguration> {
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
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  try {
    return await api.createMutatingWebhookConfiguration({ body: config });
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 409)) throw error;
    const name = config.metadata?.name ?? '';
    const existing = await api.readMutatingWebhookConfiguration({ name });
    return api.replaceMutatingWebhookConfiguration({ name, body: { ...config, metadata: { ...config.metadata, resourceVersion: existing.metadata?.resourceVersion } } });
  }
}
