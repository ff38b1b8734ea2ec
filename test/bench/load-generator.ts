/**
 * The load generator of the out-of-process benchmarks, run as its own
 * process: autocannon against one base URL (HTTP or HTTPS), cycling through
 * GET paths on every connection, or sending one POST body. Argument: a LoadSpec as JSON
 * (test/bench/processes.ts); prints JSON { perSecond, p50Ms, p99Ms, errors, non2xx }.
 */
import autocannon from 'autocannon';
import type { LoadSpec } from './processes.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const requests = spec.post
  ? [{ method: 'POST' as const, path: spec.post.path, body: spec.post.body, headers: { 'content-type': spec.post.contentType } }]
  : (spec.paths ?? ['/']).map((path) => ({ method: 'GET' as const, path }));
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.seconds }),
  requests,
});
process.stdout.write(
  JSON.stringify({
    // Per second over the whole run (autocannon's average is per whole second sampled, which a short `amount` run skews).
    perSecond: Math.round((result.requests.total / Math.max(result.duration, 0.001))),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }),
);
