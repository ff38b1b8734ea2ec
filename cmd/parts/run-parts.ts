/**
 * Starting the manager's parts in one process against a cluster, and
 * stopping them in order on shutdown: readiness fails first, then servers
 * drain, then watches close.
 *
 * Each part's code is imported only when the part runs: a process that runs
 * the API alone does not hold the webhook's (node-forge) or the
 * controller's modules.
 */
import type { KubeAccess } from '../../lib/kube/kube-access.js';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ManagerConfig } from '../../lib/config/types.js';
import { startOpsServer } from './ops-server.js';
import { hostname } from 'node:os';

export interface PartSelection {
  api: boolean;
  webhook: boolean;
  controller: boolean;
}

export interface PartsOptions {
  config: ManagerConfig;
  kubeConfig: KubeAccess;
  namespace: string;
  parts: PartSelection;
  host: string;
  apiPort: number;
  webhookPort: number;
  opsPort: number;
  tlsDir?: string;
  webhookService: string;
  webhookSecret: string;
  /** The webhook CA's Secret; default `<webhookSecret>-ca`. */
  webhookCaSecret?: string;
  webhookConfigurationName: string;
  logger: Logger;
}

export interface RunningParts {
  apiUrl?: string;
  webhookUrl?: string;
  opsUrl: string;
  ready(): boolean;
  stop(): Promise<void>;
}

export async function startParts(options: PartsOptions): Promise<RunningParts> {
  const { config, logger } = options;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const stops: Array<() => Promise<void>> = [];
  const readiness: Array<() => boolean> = [];
  let stopping = false;
  // Not ready while parts are still starting (the ops server answers first).
  let started = false;
  const result: RunningParts = {
    opsUrl: '',
    ready: () => started && !stopping && readiness.every((r) => r()),
    stop: async () => {
      stopping = true;
      for (const stop of stops.reverse()) await stop().catch((error: unknown) => logger.error({ err: error }, 'stopping a part failed'));
    },
  };
  try {
    const ops = await startOpsServer({ host: options.host, port: options.opsPort, metrics, ready: result.ready });
    result.opsUrl = ops.url;
    stops.push(() => ops.close());
    if (options.parts.webhook) {
      const { startWebhookPart } = await import('./webhook-part.js');
      const webhook = await startWebhookPart({
        kubeConfig: options.kubeConfig,
        namespace: options.namespace,
        host: options.host,
        port: options.webhookPort,
        settings: {
          archiveLogs: config.server.manager.finalizerController,
          jobNamePrefix: config.settings.jobNamePrefix,
          // The API of the shipped manifests runs as this service account in the webhook's namespace.
          trustedJobCreators: config.settings.trustedJobCreators ?? [`system:serviceaccount:${options.namespace}:k8s-job-manager-api`],
          jobControllerUsers: config.settings.jobControllerUsers,
          defaultTtlSecondsAfterFinished: config.settings.defaultTtlSecondsAfterFinished,
          ...(config.settings.defaultActiveDeadlineSeconds !== undefined ? { defaultActiveDeadlineSeconds: config.settings.defaultActiveDeadlineSeconds } : {}),
        },
        logger: logger.child({ part: 'webhook' }),
        ...(options.tlsDir ? { tlsDir: options.tlsDir } : {}),
        serviceName: options.webhookService,
        secretName: options.webhookSecret,
        ...(options.webhookCaSecret ? { caSecretName: options.webhookCaSecret } : {}),
        webhookConfigurationName: options.webhookConfigurationName,
        metrics,
      });
      result.webhookUrl = webhook.url;
      readiness.push(webhook.ready);
      stops.push(() => webhook.close());
    }
    if (options.parts.controller) {
      const { controllerSettingsFrom, startController } = await import('../../controller/index.js');
      const controller = await startController({
        kubeConfig: options.kubeConfig,
        namespaces: [options.namespace],
        settings: controllerSettingsFrom(config.settings),
        logger: logger.child({ part: 'controller' }),
        metricsRegistry: metrics,
        // The pod name in a Deployment: unique among replicas, readable in the Lease.
        identity: process.env.HOSTNAME ?? `${hostname()}-${process.pid}`,
      });
      readiness.push(controller.ready);
      stops.push(() => controller.stop());
    }
    if (options.parts.api) {
      const { startApi } = await import('../../api/index.js');
      const api = await startApi({
        config,
        kubeConfig: options.kubeConfig,
        namespace: options.namespace,
        host: options.host,
        port: options.apiPort,
        logger: logger.child({ part: 'api' }),
        metrics,
        archiveLogs: config.server.manager.finalizerController,
      });
      result.apiUrl = api.url;
      readiness.push(api.ready);
      stops.push(() => api.close());
    }
    started = true;
    return result;
  } catch (error) {
    await result.stop();
    throw error;
  }
}
