/**
 * The chaos run's processes: the manager's parts as the real command line
 * (`node cmd/main.js serve …` from build.ts's transpiled tree, so SIGKILL
 * kills exactly what a container runtime would), and the helpers forked with
 * an IPC channel (local-cluster, S3). Every process's output goes to a file
 * of its own.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { childEnv } from '../helpers/child-env.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Part {
  name: string;
  child: ChildProcess;
  /** The `k8s-job-manager ready` log line (with the URLs). */
  ready: Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  kill(signal: NodeJS.Signals): Promise<void>;
}

function logStream(logDir: string, name: string): WriteStream {
  return createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
}

/** `k8s-job-manager serve <args>` (`cli`: the transpiled cmd/main.js) with `env` on top of a clean environment. */
export function startPart(name: string, cli: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): Part {
  const log = logStream(logDir, name);
  log.write(`--- ${new Date().toISOString()} start ${name}: serve ${args.join(' ')}\n`);
  const child = spawn(process.execPath, [cli, 'serve', ...args], {
    cwd: ROOT,
    // CHAOS_LOG_LEVEL=debug: every part logs at debug (to read a finding's story in the kept run folder).
    env: childEnv({ LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      log.end(`--- ${new Date().toISOString()} exit ${name}: code ${code} signal ${signal}\n`);
      resolve({ code, signal });
    }),
  );
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface(child.stdout!).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('k8s-job-manager ready')) return;
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        resolve({});
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    void exited.then(({ code, signal }) => reject(new Error(`${name} exited (code ${code}, signal ${signal}) before it was ready; see ${path.join(logDir, `${name}.log`)}`)));
  });
  ready.catch(() => undefined);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    ready,
    exited,
    alive,
    kill: async (signal) => {
      if (alive()) child.kill(signal);
      await exited;
    },
  };
}

export interface Helper<M> {
  child: ChildProcess;
  /** The first message of the given type (the default bound is generous: a loaded machine starts processes slowly). */
  next<T extends M>(match: (message: M) => message is T, timeoutMs?: number): Promise<T>;
  send(message: unknown): void;
  stop(): Promise<void>;
}

/** A helper (transpiled JavaScript) forked with an IPC channel. */
export function forkHelper<M extends { type: string }>(name: string, file: string, args: string[], logDir: string): Helper<M> {
  const log = logStream(logDir, name);
  const child = fork(file, args, {
    cwd: ROOT,
    execArgv: [],
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    next: (match, timeoutMs = 300_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', on);
          reject(new Error(`${name}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const on = (message: M): void => {
          if (!match(message)) return;
          clearTimeout(timer);
          child.off('message', on);
          resolve(message);
        };
        child.on('message', on);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${name} exited; see ${path.join(logDir, `${name}.log`)}`));
        });
      }),
    send: (message) => {
      if (child.connected) child.send(message as never);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}
