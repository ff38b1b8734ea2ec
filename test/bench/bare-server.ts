/**
 * The baseline of the out-of-process API benchmarks, run as its own process:
 * a bare fastify server answering the paths with bodies recorded from the
 * server under test (same route shape, same bytes, same status and content
 * type), so the ratio shows what our routes cost beyond fastify itself.
 * Argument: a JSON file of { [method path]: { status, body } }; prints the
 * port when listening.
 */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';

export interface RecordedAnswer {
  status: number;
  body: string;
}

const answers = new Map(Object.entries(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Record<string, RecordedAnswer>));
const app = Fastify({ logger: false });
const answer = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
  const recorded = answers.get(`${request.method} ${request.url}`);
  if (recorded === undefined) return reply.code(404).send({ error: 'not recorded' });
  return reply.code(recorded.status).type('application/json; charset=utf-8').send(recorded.body);
};
app.get('/*', answer);
app.post('/*', answer);
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
