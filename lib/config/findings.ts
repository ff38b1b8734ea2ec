import type { KeyPath } from './paths.js';

/** One problem at one place in the configuration, before the file name is put in front. */
export interface Finding {
  path: KeyPath;
  message: string;
}

export interface Findings {
  errors: Finding[];
  warnings: Finding[];
}

export function emptyFindings(): Findings {
  return { errors: [], warnings: [] };
}

export function mergeFindings(...all: Findings[]): Findings {
  return { errors: all.flatMap((f) => f.errors), warnings: all.flatMap((f) => f.warnings) };
}
