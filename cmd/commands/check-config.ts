/** `check-config FILE`: the start-up validation of a configuration, as a verdict. */
import { UsageError, type Command } from '../command.js';

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate a pygeoapi configuration file and the environment',
  usage: 'k8s-job-manager check-config FILE',
  options: {},
  async run(_values, positionals) {
    const file = positionals[0];
    if (!file) throw new UsageError('check-config needs the configuration file');
    // Loaded here, not with the command line: `serve` must not keep the checking code (see lib/config/load-in-worker.ts).
    const { checkConfigFile } = await import('../../lib/config/index.js');
    const verdict = checkConfigFile(file, process.env);
    for (const warning of verdict.warnings) process.stderr.write(`warning: ${warning}\n`);
    for (const error of verdict.errors) process.stderr.write(`error: ${error}\n`);
    if (verdict.ok) process.stdout.write(`${file}: ok${verdict.warnings.length ? ` (${verdict.warnings.length} warning(s))` : ''}\n`);
    return verdict.ok ? 0 : 1;
  },
};
