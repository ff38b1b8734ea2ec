/** `check-config FILE`: the start-up validation of a configuration, as a verdict. */
import { checkConfigFile } from '../../lib/config/index.js';
import { UsageError, type Command } from '../command.js';

export const checkConfigCommand: Command = {
  name: 'check-config',
  summary: 'validate a pygeoapi configuration file and the environment',
  usage: 'k8s-job-manager check-config FILE',
  options: {},
  async run(_values, positionals) {
    const file = positionals[0];
    if (!file) throw new UsageError('check-config needs the configuration file');
    const verdict = checkConfigFile(file, process.env);
    for (const warning of verdict.warnings) process.stderr.write(`warning: ${warning}\n`);
    for (const error of verdict.errors) process.stderr.write(`error: ${error}\n`);
    if (verdict.ok) process.stdout.write(`${file}: ok${verdict.warnings.length ? ` (${verdict.warnings.length} warning(s))` : ''}\n`);
    return verdict.ok ? 0 : 1;
  },
};
