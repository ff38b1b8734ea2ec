/**
 * One container instance as a local child process in its own process group,
 * so that stopping it reaches every process it started (as a container's
 * PID namespace would). Output goes to the instance's log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { LogFile } from './log-file.js';

export interface ContainerExit {
  exitCode: number;
  signal?: string;
  /** Set when the process could not be started at all. */
  startError?: string;
}

export interface StartSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  log: LogFile;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11, SIGPIPE: 13 };

export class ContainerProcess {
  private readonly child: ChildProcess | undefined;
  readonly exited: Promise<ContainerExit>;

  constructor(spec: StartSpec) {
    const [file, ...args] = spec.argv;
    try {
      this.child = spawn(file!, args, { env: spec.env, cwd: spec.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      // Some failures (E2BIG: arguments and environment too long) are thrown, not emitted: the container fails to start, as a runtime's would.
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'E2BIG' ? 'argument list too long' : (error as Error).message;
      this.exited = spec.log.close().then(() => ({ exitCode: 128, startError: `exec ${file ?? ''}: ${why}` }));
      return;
    }
    const child = this.child;
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream]!;
      source.on('data', (chunk: Buffer) => {
        if (!spec.log.write(stream, chunk)) {
          source.pause();
          spec.log.once('drain', () => source.resume());
        }
      });
    }
    // When the main process ends the container ends: nothing it left behind survives (a PID namespace's rule).
    child.once('exit', () => this.signalGroup('SIGKILL'));
    this.exited = new Promise((resolve) => {
      let settled = false;
      child.once('error', async (error) => {
        if (settled) return;
        settled = true;
        await spec.log.close();
        resolve({ exitCode: 128, startError: error.message });
      });
      // 'close' waits for stdout/stderr to end, so the log is complete.
      child.once('close', async (code, signal) => {
        if (settled) return;
        settled = true;
        await spec.log.close();
        if (signal) resolve({ exitCode: 128 + (SIGNAL_NUMBERS[signal] ?? 0), signal });
        else resolve({ exitCode: code ?? 0 });
      });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Signals the whole process group. */
  kill(signal: NodeJS.Signals): void {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.signalGroup(signal);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }
}
