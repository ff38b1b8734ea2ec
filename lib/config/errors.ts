/** A configuration that cannot be used; `problems` holds one readable line per problem. */
export class ConfigError extends Error {
  readonly problems: string[];
  readonly warnings: string[];

  constructor(problems: string[], warnings: string[] = []) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid configuration (${count}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
    this.warnings = warnings;
  }
}
