/**
 * Running test/controller/fixtures/controller-process.ts (or, for the bench,
 * the built `serve --controller`) as a child process:
 * its JSON log lines collected, waited on, and its peak memory read from
 * /proc (Linux) while it still runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../helpers/wait-for.js';
import type { ControllerTuning } from '../../../controller/settings.js';
import type { Teardown } from './s3.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/controller-process.ts', import.meta.url));

export interface ControllerProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  /** Waits for a log line matching `match`. */
  logged(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Peak resident memory so far, in bytes (VmHWM). */
  peakRss(): Promise<number>;
  /** Current resident memory, in bytes (VmRSS). */
  rss(): Promise<number>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

async function procStatus(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export async function startControllerProcess(
  t: Teardown,
  options: {
    kubeconfigFile: string;
    namespace: string;
    identity: string;
    env: Record<string, string | undefined>;
    tuning?: Partial<ControllerTuning>;
    /** Node flags; by default a small young generation, so garbage does not blur memory peaks. */
    nodeOptions?: string[];
    /** The fixture transpiled to JavaScript (benchFixture), run with plain node as in production; default: the TypeScript one through tsx. */
    script?: string;
    /** Instead of the fixture, this command line (after node's flags), e.g. the built `serve --controller`, ready once it logs `readyMessage`. */
    command?: { argv: string[]; readyMessage: string };
  },
): Promise<ControllerProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // tap's process-info hook re-adds its variables to every spawn; this keeps the tsx child out of
    // coverage, whose reports for the same files compiled by another loader cannot be merged.
    _TAPJS_PROCESSINFO_COVERAGE_: '0',
    CONTROLLER_KUBECONFIG: options.kubeconfigFile,
    CONTROLLER_NAMESPACE: options.namespace,
    CONTROLLER_IDENTITY: options.identity,
    CONTROLLER_TUNING: JSON.stringify(options.tuning ?? {}),
    ...options.env,
  };
  const nodeOptions = options.nodeOptions ?? ['--max-semi-space-size=2'];
  const entry = options.command ? options.command.argv : options.script ? [options.script] : ['--import', 'tsx', FIXTURE];
  const child = spawn(process.execPath, [...nodeOptions, ...entry], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const logs: Array<Record<string, unknown>> = [];
  createInterface(child.stdout!).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: ControllerProcess = {
    child,
    logs,
    logged: (match, what, timeoutMs = 20_000) => waitFor(() => logs.find(match), { what, timeoutMs }),
    peakRss: () => procStatus(child.pid!, 'VmHWM'),
    rss: () => procStatus(child.pid!, 'VmRSS'),
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  t.teardown(() => proc.kill('SIGKILL'));
  const ready = options.command?.readyMessage ?? 'controller process ready';
  await proc.logged((l) => l.msg === ready, 'the controller process to start');
  return proc;
}

/**
 * The controller fixture and the product transpiled to JavaScript under
 * `outDir` (as `npm run build` would; tsx's loader alone costs the process
 * ~100 MB), for measuring memory as a deployed controller has it.
 */
export async function transpiledFixture(outDir: string): Promise<string> {
  const { transpileProduct } = await import('../../chaos/build.js');
  const ts = (await import('typescript')).default;
  await transpileProduct(outDir);
  const { outputText } = ts.transpileModule(await readFile(FIXTURE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const target = path.join(outDir, 'test', 'controller', 'fixtures', 'controller-process.js');
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, outputText);
  return target;
}
