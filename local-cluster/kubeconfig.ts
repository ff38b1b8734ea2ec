/** Kubeconfig documents for clients of the stand-in (kubectl, client-node). */
import { stringify } from 'yaml';

export const CONTEXT_NAME = 'local-cluster';

export function kubeconfigYaml(server: string, caPem: string, token: string, namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: CONTEXT_NAME, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    // A bearer token: the administrator's (system:masters) or a ServiceAccount's.
    users: [{ name: CONTEXT_NAME, user: { token } }],
    contexts: [{ name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: CONTEXT_NAME, namespace } }],
    'current-context': CONTEXT_NAME,
    preferences: {},
  });
}
