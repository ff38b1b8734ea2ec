/**
 * Running the admission webhook: TLS from files (cert-manager) or from our
 * own CA kept in a Secret of its own, the serving certificate in another,
 * the caBundle of our MutatingWebhookConfiguration kept in step, and the
 * serving certificate renewed and reloaded in place.
 */
import type { KubeAccess } from '../../lib/kube/kube-access.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import { startWebhook, webhookMetrics, type WebhookSettings } from '../../webhook/index.js';
import { caSecretNameFor, ensureTlsSecret, loadTlsFromFiles, patchWebhookCaBundle } from '../../certs/tls-secret.js';
import { renewalTime } from '../../certs/rotation.js';
import { KubeHttp } from '../../lib/kube/http.js';

export interface WebhookPartOptions {
  kubeConfig: KubeAccess;
  namespace: string;
  host: string;
  port: number;
  settings: WebhookSettings;
  logger: Logger;
  /** Directory with tls.crt/tls.key/ca.crt (cert-manager); otherwise the Secret below is used. */
  tlsDir?: string;
  serviceName: string;
  /** The serving certificate's Secret. */
  secretName: string;
  /** The CA's Secret (its private key lives only there); default `<secretName>-ca`. */
  caSecretName?: string;
  webhookConfigurationName: string;
  metrics: Registry;
}

export interface WebhookPart {
  url: string;
  ready(): boolean;
  close(): Promise<void>;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export async function startWebhookPart(options: WebhookPartOptions): Promise<WebhookPart> {
  const kube = new KubeHttp(options.kubeConfig);
  const caSecretName = options.caSecretName ?? caSecretNameFor(options.secretName);
  const obtain = async (): Promise<{ key: string; cert: string; ca?: string }> => {
    if (options.tlsDir) return loadTlsFromFiles(options.tlsDir);
    const { material, action, migrated } = await ensureTlsSecret(kube, { namespace: options.namespace, name: options.secretName, caSecretName, serviceName: options.serviceName });
    if (migrated) options.logger.info(`moved the webhook CA's private key from Secret ${options.secretName} into Secret ${caSecretName}`);
    if (action !== 'existing') options.logger.info(`webhook serving certificate ${action} in Secret ${options.secretName}`);
    await patchWebhookCaBundle(kube, options.webhookConfigurationName, material.ca).catch((error: unknown) =>
      options.logger.warn({ err: error }, `could not update the caBundle of MutatingWebhookConfiguration ${options.webhookConfigurationName}`),
    );
    return material;
  };
  // A part that fails to start leaves no keep-alive sockets behind.
  const closingKubeOnError = <T>(started: Promise<T>): Promise<T> =>
    started.catch((error: unknown) => {
      kube.close();
      throw error;
    });
  let tls = await closingKubeOnError(obtain());
  const server = await closingKubeOnError(
    startWebhook({
      host: options.host,
      port: options.port,
      tls: { key: tls.key, cert: tls.cert },
      settings: options.settings,
      logger: options.logger as FastifyBaseLogger,
      onReview: webhookMetrics(options.metrics),
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    const due = renewalTime(tls.cert).getTime() - Date.now();
    timer = setTimeout(() => void renew(), Math.min(Math.max(due, 60_000), MAX_TIMER_MS));
  };
  const renew = async (): Promise<void> => {
    try {
      tls = await obtain();
      server.setTlsCredentials(tls.key, tls.cert);
      options.logger.info('webhook serving certificate reloaded');
    } catch (error) {
      options.logger.error({ err: error }, 'renewing the webhook certificate failed; retrying in a minute');
    }
    schedule();
  };
  schedule();
  let closing = false;
  return {
    url: server.url,
    ready: () => !closing,
    close: async () => {
      closing = true;
      clearTimeout(timer);
      await server.close();
      kube.close();
    },
  };
}
