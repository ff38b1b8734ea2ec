/** The webhook part as the composition root (cmd/) sees it: one way to start it, and its metrics. */
export { startWebhookServer as startWebhook, type WebhookServer, type WebhookServerOptions, type ReviewEvent } from './server.js';
export { webhookMetrics } from './metrics.js';
export type { WebhookSettings } from './types.js';
