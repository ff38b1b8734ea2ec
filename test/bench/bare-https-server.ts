/**
 * The webhook benchmark's baseline, run as its own process: a bare fastify
 * HTTPS server, with the webhook's TLS settings, certificate, body limit and
 * keep-alive timeout, answering
 * POST /mutate with a response computed beforehand (the webhook's own answer
 * to the review sent), only the uid set per request. Arguments: a JSON file
 * { key, cert, response }; prints the port when listening.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { BODY_LIMIT_BYTES, KEEP_ALIVE_TIMEOUT_MS, WEBHOOK_TLS } from '../../webhook/server.js';

const { key, cert, response } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { key: string; cert: string; response: { response: Record<string, unknown> } };
const app = Fastify({ https: { key, cert, ...WEBHOOK_TLS }, logger: false, bodyLimit: BODY_LIMIT_BYTES, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS });
app.post('/mutate', async (request) => {
  const uid = (request.body as { request?: { uid?: string } }).request?.uid;
  return { ...response, response: { ...response.response, uid } };
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
