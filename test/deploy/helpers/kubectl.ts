/**
 * Running this machine's kubectl (bounded in time) for the deployment
 * tests: `kubectl kustomize` to render the manifests, `kubectl apply` to
 * load them into local-cluster.
 */
import { execFile } from 'node:child_process';
import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Path of the binary; default: `kubectl` from PATH. */
  binary?: string;
  timeoutMs?: number;
  input?: string;
}

/** Runs kubectl; resolves with its exit code and output, rejects only if it cannot start or overran its time. */
export function kubectl(args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const binary = options.binary ?? 'kubectl';
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = execFile(binary, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error(`${binary} not found: the deployment tests need kubectl`));
      if (error?.killed) return reject(new Error(`${binary} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(options.input);
  });
}

/** Like kubectl(), but a non-zero exit is an error carrying stderr. */
export async function kubectlOk(args: string[], options: KubectlOptions = {}): Promise<string> {
  const result = await kubectl(args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function kubectlOnPath(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    try {
      return await realpath(path.join(dir, 'kubectl'));
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * The kubectl on PATH, and the versioned ones next to it (the Cloud SDK
 * ships kubectl.1.27 … kubectl.1.33 beside its kubectl), each with its
 * embedded kustomize.
 */
export async function kubectlBinaries(): Promise<string[]> {
  const main = await kubectlOnPath();
  if (!main) return [];
  const dir = path.dirname(main);
  const versioned = (await readdir(dir))
    .filter((name) => /^kubectl\.1\.\d+$/.test(name))
    .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]))
    .map((name) => path.join(dir, name));
  return [main, ...versioned];
}
