/** Which namespace the manager works in. */
import { readFileSync } from 'node:fs';
import type { KubeAccess } from './kube-access.js';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The configured one, else the pod's own (service account), else the kubeconfig context's, else default. */
export function resolveNamespace(configured: string | undefined, kubeConfig: KubeAccess): string {
  if (configured) return configured;
  try {
    const fromServiceAccount = readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
    if (fromServiceAccount) return fromServiceAccount;
  } catch {
    // Not in a pod.
  }
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
}
