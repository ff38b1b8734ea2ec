/**
 * What the out-of-process benchmarks share: the server under test and its
 * bare-fastify baseline each run as a process of their own, and autocannon
 * drives them from a third (test/bench/load-generator.ts), so no figure
 * measures the load generator's own work on the server's event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from '../helpers/wait-for.js';

export const root = path.resolve(import.meta.dirname, '..', '..');

/** The API's request and job limits off: a benchmark is one client sending far more than 600 requests a minute. */
export const UNLIMITED = {
  PYGEOAPI_K8S_MANAGER_RATE_LIMIT_PER_MINUTE: '0',
  PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS: '0',
  PYGEOAPI_K8S_MANAGER_MAX_ACTIVE_JOBS_PER_PRINCIPAL: '0',
};

/**
 * BENCH_API_NODE_OPTIONS: Node options for the API process only (say
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` or `--heapsnapshot-signal=SIGUSR2`),
 * to see where its time and memory go under the benchmark's load.
 */
export const API_NODE_OPTIONS: NodeJS.ProcessEnv = process.env.BENCH_API_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_API_NODE_OPTIONS } : {};

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((text) => {
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);
    return Math.round(kb / 1024);
  });
}

/** The compiled entry point is newer than every source (then it runs as deployed, without tsx). */
export async function builtIsFresh(): Promise<boolean> {
  const main = path.join(root, 'dist/cmd/main.js');
  if (!existsSync(main)) return false;
  const builtAt = (await stat(main)).mtimeMs;
  for (const folder of ['api', 'webhook', 'lib', 'cmd', 'certs']) {
    for (const file of await readdir(path.join(root, folder), { recursive: true })) {
      if (file.endsWith('.ts') && (await stat(path.join(root, folder, file))).mtimeMs > builtAt) return false;
    }
  }
  return true;
}

/**
 * Node flags of the servers under test: with BENCH_CPU_PROF=<directory>, each
 * writes a V8 CPU profile there when it exits (open it in Chrome DevTools),
 * to see where a server's time goes under the bench's load. Not the load generator's.
 */
export function profiledServerFlags(): string[] {
  const directory = process.env.BENCH_CPU_PROF;
  return directory ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(directory)}`] : [];
}

/** A Node process running `script` (TypeScript through tsx, JavaScript as is) with `nodeFlags`; stdout piped, stderr inherited. */
export function childProcess(script: string, args: string[], env: NodeJS.ProcessEnv = {}, stdout: 'pipe' | 'ignore' = 'pipe', nodeFlags: string[] = []): ChildProcess {
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return spawn(process.execPath, [...nodeFlags, ...loader, path.join(root, script), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
}

/** `k8s-job-manager` itself: dist/cmd/main.js when built and fresh, else cmd/main.ts through tsx. */
export async function managerProcess(args: string[], env: NodeJS.ProcessEnv, stdout: 'pipe' | 'ignore' = 'ignore'): Promise<{ child: ChildProcess; entry: string }> {
  const entry = (await builtIsFresh()) ? 'dist/cmd/main.js' : 'cmd/main.ts';
  return { child: childProcess(entry, args, env, stdout, profiledServerFlags()), entry };
}

/** The first line a child prints (the baseline servers print their port). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const end = seen.indexOf('\n');
      if (end >= 0) resolve(seen.slice(0, end).trim());
    });
    child.once('exit', (code) => reject(new Error(`${child.spawnargs.join(' ')} exited with ${code} before printing a line`)));
  });
}

/** Ends the children (SIGTERM) and waits for them. */
export async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
}

export interface LoadSpec {
  url: string;
  /** GET paths, cycled through on every connection. */
  paths?: string[];
  /** Or one POST with this body. */
  post?: { path: string; body: string; contentType: string };
  connections: number;
  seconds: number;
  /** Stop after this many requests instead of after `seconds` (for requests that create something). */
  amount?: number;
  /** Open loop: this many requests per second, each timed from when it was due (see load-generator.ts); default: closed loop, at saturation. */
  rate?: number;
}

export interface LoadResult {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

/** One autocannon run from its own process. */
export async function drive(spec: LoadSpec): Promise<LoadResult> {
  const child = childProcess('test/bench/load-generator.ts', [JSON.stringify(spec)]);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(out) as LoadResult;
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${spec.url}: ${result.errors} errors, ${result.non2xx} non-2xx answers under load`);
  return result;
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks are 10 ms). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface Side {
  url: string;
  /** The server's pid: its CPU time per request is measured (robust to a machine shared with other work). */
  pid: number;
}

interface Measured extends LoadResult {
  cpuMsPer1000: number;
}

async function measure(side: Side, load: Omit<LoadSpec, 'url'>): Promise<Measured> {
  const before = await cpuMs(side.pid);
  const result = await drive({ ...load, url: side.url });
  const used = (await cpuMs(side.pid)) - before;
  const requests = load.amount ?? result.perSecond * load.seconds;
  return { ...result, cpuMsPer1000: Number(((used * 1000) / Math.max(1, requests)).toFixed(1)) };
}

/**
 * Ours against the baseline under the same load: a warm-up of each, then
 * `rounds` (default BENCH_ROUNDS, else 2) pairs of runs, ours then the
 * baseline back to back, the best run of each side kept (the one least
 * disturbed by other work on the machine: most served, or at a fixed
 * `rate`, lowest p99). Ratios of throughput (above 1:
 * ours serves more), p99 (above 1: ours is slower) and server CPU time per
 * request (above 1: ours works more); and the median over the pairs of each
 * pair's throughput ratio, which a machine whose other load drifts during the
 * run disturbs less than a ratio of two bests taken minutes apart.
 */
export async function compare(ours: Side, baseline: Side, load: Omit<LoadSpec, 'url'>, rounds = Number(process.env.BENCH_ROUNDS ?? 2)): Promise<Record<string, unknown>> {
  const warmUp = { ...load, seconds: 1, ...(load.amount !== undefined ? { amount: Math.min(load.amount, 20) } : {}) };
  await drive({ ...warmUp, url: ours.url });
  await drive({ ...warmUp, url: baseline.url });
  // At saturation the run that served most is the least disturbed; at a fixed rate, the one with the lowest p99.
  const better = (run: Measured, previous: Measured | undefined): Measured =>
    !previous || (load.rate === undefined ? run.perSecond > previous.perSecond : run.p99Ms < previous.p99Ms) ? run : previous;
  let best: { ours?: Measured; baseline?: Measured } = {};
  const pairRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const a = await measure(ours, load);
    const b = await measure(baseline, load);
    pairRatios.push(a.perSecond / b.perSecond);
    best = { ours: better(a, best.ours), baseline: better(b, best.baseline) };
  }
  const measured = best.ours!;
  const bare = best.baseline!;
  const sortedRatios = pairRatios.sort((x, y) => x - y);
  const median = (sortedRatios[Math.floor((sortedRatios.length - 1) / 2)]! + sortedRatios[Math.ceil((sortedRatios.length - 1) / 2)]!) / 2;
  return {
    ours: measured,
    bareFastify: bare,
    throughputRatio: Number((measured.perSecond / bare.perSecond).toFixed(2)),
    medianPairThroughputRatio: Number(median.toFixed(2)),
    // autocannon's latencies are whole milliseconds (a 0 would divide by nothing); the open loop's are not.
    p99Ratio: Number((measured.p99Ms / Math.max(bare.p99Ms, load.rate !== undefined ? 0.01 : 1)).toFixed(2)),
    cpuPerRequestRatio: Number((measured.cpuMsPer1000 / Math.max(bare.cpuMsPer1000, 0.1)).toFixed(2)),
  };
}

export interface ColdStart {
  coldStartSeconds: number;
  /** The API's own CPU time to get there: what a machine busy with other work does not stretch. */
  coldStartCpuSeconds: number;
  rssAfterStartMb: number;
  /** VmHWM at that moment: the highest RSS the start reached. */
  peakRssAtStartMb: number;
}

/** Waits for an API process to answer /readyz on its ops port; how long it took since `spawnedAt` (performance.now()), and its RSS then. */
export async function apiReady(api: ChildProcess, opsPort: number, spawnedAt: number, timeoutMs: number): Promise<ColdStart> {
  await waitFor(async () => ((await fetch(`http://127.0.0.1:${opsPort}/readyz`).catch(() => undefined))?.ok ? true : undefined), {
    what: 'the API to be ready',
    timeoutMs,
  });
  const coldStartSeconds = Number(((performance.now() - spawnedAt) / 1000).toFixed(2));
  const coldStartCpuSeconds = Number(((await cpuMs(api.pid!)) / 1000).toFixed(2));
  return { coldStartSeconds, coldStartCpuSeconds, rssAfterStartMb: await rssMb(api.pid!, 'VmRSS'), peakRssAtStartMb: await rssMb(api.pid!, 'VmHWM') };
}

/** Starts the bare fastify baseline answering the recorded `answers` (written into `directory`); its URL. */
export async function startBaseline(directory: string, answers: unknown, children: ChildProcess[]): Promise<{ url: string; pid: number }> {
  const answersFile = path.join(directory, 'answers.json');
  await writeFile(answersFile, JSON.stringify(answers));
  const bare = childProcess('test/bench/bare-server.ts', [answersFile], {}, 'pipe', profiledServerFlags());
  children.push(bare);
  return { url: `http://127.0.0.1:${Number(await firstLine(bare))}`, pid: bare.pid! };
}
