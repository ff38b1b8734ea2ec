/**
 * `npm run bench`: every benchmark in turn, results as JSON. BENCH=api,webhook
 * picks some; BENCH_JOBS, BENCH_AUTH_REQUESTS, BENCH_REVIEWS and the controller's BENCH_LOG_BYTES
 * scale them down for a quick look.
 */
const benchmarks: Record<string, () => Promise<{ run(): Promise<Record<string, unknown>> }>> = {
  api: () => import('./api-bench.js'),
  auth: () => import('./auth-bench.js'),
  webhook: () => import('./webhook-bench.js'),
  controller: () => import('./controller-archive.js'),
  history: () => import('./history-bench.js'),
};

const selected = (process.env.BENCH ?? Object.keys(benchmarks).join(',')).split(',').map((s) => s.trim());
for (const name of selected) {
  const load = benchmarks[name];
  if (!load) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(', ')}`);
  const started = Date.now();
  const result = await (await load()).run();
  process.stdout.write(`${JSON.stringify({ benchmark: name, seconds: Math.round((Date.now() - started) / 1000), ...result }, null, 2)}\n`);
}
