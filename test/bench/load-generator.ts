/**
 * The load generator of the out-of-process benchmarks, run as its own
 * process: autocannon against one base URL, cycling through the given paths
 * on every connection. Argument: JSON { url, paths, connections, seconds };
 * prints JSON { perSecond, p50Ms, p99Ms, errors, non2xx }.
 */
import autocannon from 'autocannon';

interface LoadSpec {
  url: string;
  paths: string[];
  connections: number;
  seconds: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  requests: spec.paths.map((path) => ({ method: 'GET' as const, path })),
});
process.stdout.write(
  JSON.stringify({
    perSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }),
);
