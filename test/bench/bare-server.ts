/**
 * The baseline of the out-of-process benchmarks, run as its own process: a
 * bare fastify server answering GET paths with bodies recorded from the
 * server under test (same route shape, same bytes, same content type), so the
 * ratio shows what our routes cost beyond fastify itself. Argument: a JSON
 * file of { [path]: body }; prints the port when listening.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const bodies = new Map(Object.entries(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Record<string, string>));
const app = Fastify({ logger: false });
app.get('/*', async (request, reply) => {
  const body = bodies.get(request.url);
  if (body === undefined) return reply.code(404).send({ error: 'not recorded' });
  return reply.type('application/json; charset=utf-8').send(body);
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
