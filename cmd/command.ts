/** The shape of a CLI verb: its help text and what it does. */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  short?: string;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Returns the exit code; long-running verbs resolve when they have stopped. */
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

export class UsageError extends Error {}

/** A failure to start that the user can act on: reported as one line, exit code 1, no stack. */
export class StartupError extends Error {}

export function parseCommandArgs(command: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const options = Object.fromEntries(
      Object.entries(command.options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
    );
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    throw new UsageError(`${command.name}: ${(error as Error).message}`);
  }
}

export function helpText(command: Command): string {
  const lines = Object.entries(command.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' VALUE' : ''}`;
    return `  ${flag.padEnd(28)}${o.description}`;
  });
  return [`k8s-job-manager ${command.name} — ${command.summary}`, '', `usage: ${command.usage}`, '', 'options:', ...lines, `  ${'--help'.padEnd(28)}show this help`].join('\n');
}

/** Integer flag with a clear error. */
export function intFlag(values: Record<string, string | boolean | undefined>, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number 0–65535, got "${String(raw)}"`);
  return n;
}

/** Resolves on SIGINT/SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
