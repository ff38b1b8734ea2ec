/**
 * The embedded default (`k8s-job-manager local`, `npm start` without a
 * cluster): local-cluster, an embedded S3, the webhook registered in the
 * cluster with its own TLS, the controller with leader election, and the API —
 * wired as in a real cluster.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { startLocalCluster } from '../../local-cluster/index.js';
import { KubeHttp } from '../../lib/kube/http.js';
import { loadConfigFile } from '../../lib/config/index.js';
import { startApi } from '../../api/index.js';
import { startWebhook, webhookMetrics } from '../../webhook/index.js';
import { createCertificateAuthority, createServingCertificate } from '../../certs/generate.js';
import { startEmbeddedS3, EMBEDDED_S3_CREDENTIALS } from './embedded-s3.js';
import { registerWebhook } from './register-webhook.js';
import { lockStateDir } from '../state-lock.js';
import { controllerSettingsFrom, startController } from '../../controller/index.js';

export interface LocalOptions {
  configFile: string;
  stateDir: string;
  apiPort: number;
  logger: Logger;
}

export interface RunningLocal {
  apiUrl: string;
  kubeconfig: string;
  archiveDir: string;
  ready(): boolean;
  stop(): Promise<void>;
}

/** Namespace the manager's own parts live in, as in the manifests. */
export const LOCAL_SYSTEM_NAMESPACE = 'k8s-job-manager';
const WEBHOOK_SERVICE = 'k8s-job-manager-webhook';
const BUCKET = 'k8s-job-manager';

export async function runLocal(options: LocalOptions): Promise<RunningLocal> {
  const { logger } = options;
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    for (const s of stops.reverse()) await s().catch((error: unknown) => logger.error({ err: error }, 'stopping failed'));
  };
  try {
    await mkdir(path.join(options.stateDir, 's3'), { recursive: true });
    // First, before anything in the state folder (the kubeconfig above all) is written.
    const lock = await lockStateDir(options.stateDir);
    stops.push(() => lock.release());
    const s3 = await startEmbeddedS3({ directory: path.join(options.stateDir, 's3'), bucket: BUCKET });
    stops.push(() => s3.stop());

    // The embedded S3 is the default archive; variables set by the user still win.
    const env = {
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT: s3.endpoint,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME: BUCKET,
      PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX: 'logs/',
      // One user on this machine: no access control unless asked for; the API binds to 127.0.0.1 only (below).
      PYGEOAPI_K8S_MANAGER_AUTH_MODE: 'none',
      ...process.env,
    };
    const { config, warnings } = loadConfigFile(options.configFile, env);
    for (const warning of warnings) logger.warn(warning);
    config.server.manager.finalizerController = true;

    // The cluster keeps its objects, keys and pods' logs in the state folder: a restart finds queued and running jobs again.
    const cluster = await startLocalCluster({ namespaces: [LOCAL_SYSTEM_NAMESPACE], containerRemovalDelayMs: 30_000, stateDir: path.join(options.stateDir, 'cluster') });
    stops.push(() => cluster.stop());
    const kubeconfig = path.resolve(options.stateDir, 'kubeconfig');
    await cluster.writeKubeconfig(kubeconfig);
    const kubeConfig = cluster.kubeConfig();
    // The wiring's own few calls (registration, the readiness check); the parts have their own clients.
    const kube = new KubeHttp(kubeConfig);
    stops.push(async () => kube.close());

    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics });
    // The webhook with its own CA, reached through its Service as the API server would.
    const ca = createCertificateAuthority({ commonName: 'k8s-job-manager-webhook-ca' });
    const serving = createServingCertificate({ ca, serviceName: WEBHOOK_SERVICE, namespace: LOCAL_SYSTEM_NAMESPACE });
    const webhook = await startWebhook({
      host: '127.0.0.1',
      port: 0,
      tls: { key: serving.keyPem, cert: serving.certPem },
      settings: {
        archiveLogs: true,
        jobNamePrefix: config.settings.jobNamePrefix,
        // No trustedJobCreators: in local-cluster the API and kubectl are one user on one machine.
        jobControllerUsers: config.settings.jobControllerUsers,
        defaultTtlSecondsAfterFinished: config.settings.defaultTtlSecondsAfterFinished,
        ...(config.settings.defaultActiveDeadlineSeconds !== undefined ? { defaultActiveDeadlineSeconds: config.settings.defaultActiveDeadlineSeconds } : {}),
      },
      logger: logger.child({ part: 'webhook' }) as FastifyBaseLogger,
      onReview: webhookMetrics(metrics),
    });
    stops.push(() => webhook.close());
    cluster.exposeService(LOCAL_SYSTEM_NAMESPACE, WEBHOOK_SERVICE, 443, { host: '127.0.0.1', port: webhook.port });
    await registerWebhook(kube, LOCAL_SYSTEM_NAMESPACE, 'default', ca.certPem);

    const controller = await startController({
      kubeConfig,
      namespaces: ['default'],
      settings: controllerSettingsFrom(config.settings),
      logger: logger.child({ part: 'controller' }),
      metricsRegistry: metrics,
      identity: `${hostname()}-${process.pid}`,
    });
    stops.push(() => controller.stop());

    config.server.url = `http://localhost:${options.apiPort}`;
    const api = await startApi({ config, kubeConfig, namespace: 'default', host: '127.0.0.1', port: options.apiPort, logger: logger.child({ part: 'api' }), metrics, archiveLogs: true });
    stops.push(() => api.close());
    if (options.apiPort === 0) config.server.url = api.url.replace('127.0.0.1', 'localhost');
    // Core API reachable: the cluster answers before we call ourselves ready.
    await kube.request({ path: '/api/v1/namespaces/default' });
    return {
      apiUrl: config.server.url,
      kubeconfig,
      archiveDir: path.resolve(s3.directory, BUCKET),
      ready: () => !stopping && api.ready() && controller.ready(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
