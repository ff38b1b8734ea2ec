/**
 * Running the kubectl binaries of this machine against a local cluster:
 * finding them (the one on PATH and every versioned one of the Cloud SDK),
 * running a command with a timeout, and reading a long-running one
 * (`get -w`) until it printed what a test waits for.
 */
import { execFile, spawn } from 'node:child_process';
import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from './wait-for.js';

export interface KubectlBinary {
  /** `kubectl` or `kubectl.1.29`, for test names. */
  label: string;
  path: string;
}

export interface KubectlContext {
  kubeconfig: string;
  /** Discovery cache, kept apart from the user's ~/.kube/cache. */
  cacheDir: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

const FALLBACK_SDK_ROOT = '/usr/lib/google-cloud-sdk';

function run(file: string, args: string[], timeoutMs: number, input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(error);
      if (error && error.killed) return reject(new Error(`${path.basename(file)} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

async function sdkRoot(): Promise<string> {
  try {
    const { code, stdout } = await run('gcloud', ['info', '--format=value(installation.sdk_root)'], 20_000);
    if (code === 0 && stdout.trim()) return stdout.trim();
  } catch {
    // No gcloud: try where the Debian package puts the SDK.
  }
  return FALLBACK_SDK_ROOT;
}

/** The kubectl on PATH and every `kubectl.1.*` of the Cloud SDK, each real file once. */
export async function findKubectlBinaries(): Promise<KubectlBinary[]> {
  const found: KubectlBinary[] = [];
  const seen = new Set<string>();
  const add = async (label: string, file: string): Promise<void> => {
    try {
      const real = await realpath(file);
      if (seen.has(real)) return;
      seen.add(real);
      found.push({ label, path: file });
    } catch {
      // Not there.
    }
  };
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) await add('kubectl', path.join(dir, 'kubectl'));
  const bin = path.join(await sdkRoot(), 'bin');
  const versioned = (await readdir(bin).catch(() => [] as string[]))
    .filter((name) => /^kubectl\.1\.\d+$/.test(name))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
  for (const name of versioned) await add(name, path.join(bin, name));
  return found;
}

/** Runs kubectl with the context's kubeconfig and cache; never throws for a non-zero exit. */
export function kubectl(binary: KubectlBinary, context: KubectlContext, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<KubectlResult> {
  return run(binary.path, ['--kubeconfig', context.kubeconfig, '--cache-dir', context.cacheDir, ...args], options.timeoutMs ?? 20_000, options.input);
}

export interface RunningKubectl {
  output(): string;
  /** Waits until stdout satisfies `done`; returns stdout. */
  waitForOutput(done: (stdout: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a kubectl that keeps running (get -w); `stop` ends it. */
export function startKubectl(binary: KubectlBinary, context: KubectlContext, args: string[]): RunningKubectl {
  const child = spawn(binary.path, ['--kubeconfig', context.kubeconfig, '--cache-dir', context.cacheDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => (exited = true));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    output: () => stdout,
    waitForOutput: (done, what, timeoutMs = 15_000) =>
      waitFor(
        () => {
          if (done(stdout)) return stdout;
          if (exited) throw new Error(`kubectl ${args.join(' ')} exited early; stdout: ${stdout}; stderr: ${stderr}`);
          return undefined;
        },
        { what, timeoutMs },
      ),
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };
}
