/**
 * The CLI run as a child process, as a user runs it (`node --import tsx
 * cmd/main.ts VERB ...`), with its output collected and a SIGKILL on teardown
 * for a process the test left running.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Test } from 'tap';
import { childEnv } from './child-env.js';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface CliRun {
  pid: number;
  /** stdout and stderr as they came. */
  output: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

export function runCli(t: Test, verb: string, args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'cmd/main.ts'), verb, ...args], {
    cwd: root,
    env: childEnv({ NODE_NO_WARNINGS: '1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { pid: child.pid!, output: () => output, stderr: () => stderr, exited, kill: (s) => child.kill(s) };
}
