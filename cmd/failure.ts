/**
 * How a verb's failure reaches the user: one line they can act on and an
 * exit code. Mistakes in usage exit 2; failures to start (a port in use, a
 * locked state folder, missing dev pieces) exit 1 without a stack; anything
 * else is a bug and keeps its stack.
 */
import { StartupError, UsageError } from './command.js';

export interface Failure {
  line: string;
  code: number;
}

const SYSTEM_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use (is another instance running?)',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
};

export function failureLine(error: unknown): Failure {
  if (error instanceof UsageError) return { line: error.message, code: 2 };
  if (error instanceof StartupError) return { line: error.message, code: 1 };
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  const known = typeof e?.code === 'string' ? SYSTEM_ERRORS[e.code] : undefined;
  if (known && e.syscall === 'listen') {
    return { line: `cannot listen on ${e.address ?? '?'}:${e.port ?? '?'}: ${known}`, code: 1 };
  }
  if (known) return { line: `${e.message}: ${known}`, code: 1 };
  return { line: error instanceof Error ? (error.stack ?? error.message) : String(error), code: 1 };
}
