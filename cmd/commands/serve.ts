/** `serve`: run the parts against a real cluster (KUBECONFIG, ~/.kube/config or the pod's service account). */
import { ConfigError } from '../../lib/config/errors.js';
import { loadConfigFileInWorker } from '../../lib/config/load-in-worker.js';
import { createLogger } from '../../lib/logging.js';
import { loadKubeAccess } from '../../lib/kube/kube-access.js';
import { resolveNamespace } from '../../lib/kube/namespace.js';
import { intFlag, StartupError, UsageError, untilSignal, type Command } from '../command.js';
import { startParts } from '../parts/run-parts.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the API, the webhook and/or the controller against a Kubernetes cluster',
  usage: 'k8s-job-manager serve [--config FILE] [--api] [--webhook] [--controller] [options]',
  options: {
    config: { type: 'string', description: 'pygeoapi configuration file (default $PYGEOAPI_CONFIG)' },
    api: { type: 'boolean', description: 'run the OGC API (default when no part is named)' },
    webhook: { type: 'boolean', description: 'run the admission webhook (HTTPS)' },
    controller: { type: 'boolean', description: 'run the log-archiving controller (default: server.manager.finalizer_controller)' },
    host: { type: 'string', description: 'address to listen on (default 0.0.0.0)' },
    port: { type: 'string', description: 'API port (default: server.bind.port of the configuration)' },
    'webhook-port': { type: 'string', description: 'webhook HTTPS port (default 8443)' },
    'ops-port': { type: 'string', description: 'port of /healthz, /readyz and /metrics (default 9090)' },
    'tls-dir': { type: 'string', description: 'webhook certificate files tls.crt/tls.key/ca.crt (cert-manager); default: self-managed Secret' },
    'webhook-service': { type: 'string', description: 'Service name of the webhook (certificate names; default k8s-job-manager-webhook)' },
    'webhook-secret': { type: 'string', description: 'Secret holding the webhook serving certificate (default k8s-job-manager-webhook-tls)' },
    'webhook-ca-secret': { type: 'string', description: "Secret holding the webhook CA and its private key (default: the --webhook-secret name + '-ca')" },
    'webhook-configuration': { type: 'string', description: 'our MutatingWebhookConfiguration (default k8s-job-manager)' },
  },
  async run(values) {
    const file = (values.config as string | undefined) ?? process.env.PYGEOAPI_CONFIG;
    if (!file) throw new UsageError('serve needs --config FILE or PYGEOAPI_CONFIG');
    const logger = createLogger('k8s-job-manager');
    // Checked in a worker: the checking code (~20 MB) is not kept for the life of the process.
    const { config, warnings } = await loadConfigFileInWorker(file, process.env).catch((error: unknown) => {
      // A configuration's problems are the operator's to fix, not a bug: their list, without a stack.
      throw error instanceof ConfigError ? new StartupError(error.message) : error;
    });
    for (const warning of warnings) logger.warn(warning);
    // client-node's KubeConfig module (~40 MB) is loaded only for configurations kube-access.ts leaves to it.
    const kubeConfig = await loadKubeAccess();
    const named = Boolean(values.api || values.webhook || values.controller);
    const parts = {
      api: named ? Boolean(values.api) : true,
      webhook: Boolean(values.webhook),
      controller: named ? Boolean(values.controller) : config.server.manager.finalizerController,
    };
    const running = await startParts({
      config,
      kubeConfig,
      namespace: resolveNamespace(config.settings.namespace, kubeConfig),
      parts,
      host: (values.host as string | undefined) ?? '0.0.0.0',
      apiPort: intFlag(values, 'port', config.server.port),
      webhookPort: intFlag(values, 'webhook-port', 8443),
      opsPort: intFlag(values, 'ops-port', 9090),
      ...(values['tls-dir'] ? { tlsDir: String(values['tls-dir']) } : {}),
      webhookService: String(values['webhook-service'] ?? 'k8s-job-manager-webhook'),
      webhookSecret: String(values['webhook-secret'] ?? 'k8s-job-manager-webhook-tls'),
      ...(values['webhook-ca-secret'] ? { webhookCaSecret: String(values['webhook-ca-secret']) } : {}),
      webhookConfigurationName: String(values['webhook-configuration'] ?? 'k8s-job-manager'),
      logger,
    });
    logger.info({ api: running.apiUrl, webhook: running.webhookUrl, ops: running.opsUrl }, 'k8s-job-manager ready');
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    await running.stop();
    return 0;
  },
};
