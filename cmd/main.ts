#!/usr/bin/env node
/** The k8s-job-manager command line: one verb per task, `--help` on each. */
import { helpText, parseCommandArgs, type Command } from './command.js';
import { failureLine } from './failure.js';
import { checkConfigCommand } from './commands/check-config.js';
import { localClusterCommand } from './commands/local-cluster.js';
import { serveCommand } from './commands/serve.js';
import { localCommand } from './commands/local.js';
import { startCommand } from './commands/start.js';
import { certsCommand } from './commands/certs.js';
import { historyCommand } from './commands/history.js';

const COMMANDS: Command[] = [startCommand, serveCommand, localCommand, checkConfigCommand, certsCommand, historyCommand, localClusterCommand];

function overview(): string {
  return [
    'k8s-job-manager — OGC API – Processes on Kubernetes Jobs',
    '',
    'usage: k8s-job-manager <verb> [options]   (k8s-job-manager <verb> --help for its options)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(16)}${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(`${overview()}\n`);
    return verb ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === verb);
  if (!command) {
    process.stderr.write(`unknown verb "${verb}"\n\n${overview()}\n`);
    return 2;
  }
  const { values, positionals } = parseCommandArgs(command, rest);
  if (values.help) {
    process.stdout.write(`${helpText(command)}\n`);
    return 0;
  }
  return command.run(values, positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const failure = failureLine(error);
    process.stderr.write(`k8s-job-manager: ${failure.line}\n`);
    // The verb stopped what it had started; exiting here guarantees no half-started part keeps the process alive.
    process.exit(failure.code);
  },
);
