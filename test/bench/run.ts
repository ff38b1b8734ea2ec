/**
 * `npm run bench`: every benchmark in turn (but the opt-in `history-1m`),
 * results as JSON. BENCH=api,webhook picks some; BENCH_JOBS, BENCH_ARCHIVED, BENCH_EXECUTIONS,
 * BENCH_SECONDS, BENCH_ROUNDS, BENCH_AUTH_REQUESTS and the controller's
 * BENCH_LOG_BYTES scale them down for a quick look.
 */
const benchmarks: Record<string, () => Promise<{ run(): Promise<Record<string, unknown>> }>> = {
  api: () => import('./api-bench.js'),
  auth: () => import('./auth-bench.js'),
  webhook: () => import('./webhook-bench.js'),
  controller: () => import('./controller-archive.js'),
  history: () => import('./history-bench.js'),
  'history-1m': async () => {
    const history = await import('./history-bench.js');
    return { run: () => history.run(1_000_000) };
  },
};
const OPT_IN = new Set(['history-1m']);

const selected = (process.env.BENCH ?? Object.keys(benchmarks).filter((name) => !OPT_IN.has(name)).join(',')).split(',').map((s) => s.trim());
for (const name of selected) {
  const load = benchmarks[name];
  if (!load) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(', ')}`);
  const started = Date.now();
  const result = await (await load()).run();
  process.stdout.write(`${JSON.stringify({ benchmark: name, seconds: Math.round((Date.now() - started) / 1000), ...result }, null, 2)}\n`);
}
