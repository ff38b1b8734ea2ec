/**
 * The real webhook as a cluster runs it, for end-to-end tests: TLS material
 * from its Secret (made by certs/tls-secret.ts), the server on a free port,
 * reachable through the cluster as its Service, and registered with the
 * shipped MutatingWebhookConfiguration (its caBundle the CA from the Secret).
 */
import type { Test } from 'tap';
import pino from 'pino';
import type { KubeConfig, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { startWebhookServer, type WebhookServer, type WebhookServerOptions } from '../../webhook/server.js';
import { ensureTlsSecret, type TlsMaterial } from '../../certs/tls-secret.js';
import { KubeHttp } from '../../lib/kube/http.js';
import { registerWebhook } from '../../cmd/local/register-webhook.js';

export interface ClusterWebhookOptions {
  cluster: { kubeConfig(): KubeConfig; exposeService(namespace: string, name: string, port: number, target: { host: string; port: number }): void };
  /** Where the webhook's Secret and Service live. */
  systemNamespace: string;
  /** The namespace whose Jobs and Pods the registration selects. */
  jobsNamespace: string;
  /** The Service name; the serving certificate is made for it. */
  service?: string;
  settings: WebhookServerOptions['settings'];
  onReview?: WebhookServerOptions['onReview'];
}

export interface ClusterWebhook {
  webhook: WebhookServer;
  material: TlsMaterial;
  configuration: V1MutatingWebhookConfiguration;
}

export async function startClusterWebhook(t: Test, options: ClusterWebhookOptions): Promise<ClusterWebhook> {
  const service = options.service ?? 'k8s-job-manager-webhook';
  const http = new KubeHttp(options.cluster.kubeConfig());
  const { material } = await ensureTlsSecret(http, { namespace: options.systemNamespace, name: 'webhook-tls', serviceName: service });
  const webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: { key: material.key, cert: material.cert },
    settings: options.settings,
    logger: pino({ level: 'silent' }),
    ...(options.onReview ? { onReview: options.onReview } : {}),
  });
  t.teardown(() => webhook.close());
  options.cluster.exposeService(options.systemNamespace, service, 443, { host: '127.0.0.1', port: webhook.port });
  const configuration = await registerWebhook(http, options.systemNamespace, options.jobsNamespace, material.ca);
  return { webhook, material, configuration };
}
