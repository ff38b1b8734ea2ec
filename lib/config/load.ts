/** Loading and checking a configuration file: YAML, environment, schema, rules, then normalisation. */
import { readFileSync } from 'node:fs';
import { readSettings, type Env } from './environment.js';
import { ConfigError } from './errors.js';
import { mergeFindings } from './findings.js';
import { normaliseConfig } from './normalise.js';
import { formatPath, type PathSegment } from './paths.js';
import { isRecord } from '../is-record.js';
import { processEntries, recordItems } from './raw-config.js';
import { checkRules } from './rules.js';
import { NULL_MEANS_OFF_KEYS } from './schema.js';
import type { ManagerConfig, Settings } from './types.js';
import { checkSchema } from './validate.js';
import { readYaml, type YamlSource } from './yaml-source.js';

export interface ConfigEvaluation {
  /** Present when there are no errors. */
  config?: ManagerConfig;
  errors: string[];
  warnings: string[];
}

export interface ConfigCheck {
  ok: boolean;
  errors: string[];
  warnings: string[];
}

/**
 * Brings the parsed data to what the Python manager would see: an empty key
 * (`env:` with every entry commented out) is the same as no key, and numbers
 * it turns into text (env values, toleration values, the process version)
 * keep their spelling (`1.0` stays `1.0`).
 */
function prepare(data: Record<string, unknown>, source: YamlSource): void {
  const asWritten = (holder: Record<string, unknown>, key: string, path: PathSegment[]): void => {
    if (typeof holder[key] !== 'number') return;
    const written = source.numberAsWritten(path);
    if (written !== undefined) holder[key] = written;
  };
  for (const { id, processor } of processEntries(data)) {
    const at = ['resources', id, 'processor'];
    for (const [key, value] of Object.entries(processor)) {
      if (value === null && !NULL_MEANS_OFF_KEYS.includes(key)) delete processor[key];
    }
    if (isRecord(processor.metadata)) asWritten(processor.metadata, 'version', [...at, 'metadata', 'version']);
    for (const [i, entry] of recordItems(processor.env)) asWritten(entry, 'value', [...at, 'env', i, 'value']);
    for (const [i, entry] of recordItems(processor.tolerations)) asWritten(entry, 'value', [...at, 'tolerations', i, 'value']);
  }
}

/** The whole evaluation of a configuration text; `file` is only used to name it in messages. */
export function evaluateConfig(text: string, file: string, env: Env = process.env): ConfigEvaluation {
  const source = readYaml(text, file, env);
  if (source.errors.length > 0) return { errors: source.errors, warnings: source.warnings };
  const errors: string[] = [];
  let settings: Settings | undefined;
  try {
    settings = readSettings(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    errors.push(...error.problems);
  }
  const data = source.data;
  if (!isRecord(data)) {
    const what = data === null || data === undefined ? 'is empty' : 'must be a mapping';
    errors.push(`${file}: ${what}; a pygeoapi configuration has server: and resources:`);
    return { errors, warnings: source.warnings };
  }
  prepare(data, source);
  const findings = mergeFindings(checkSchema(data), checkRules(data, settings));
  errors.push(...findings.errors.map((f) => `${file}: ${formatPath(f.path)}: ${f.message}`));
  const warnings = [...source.warnings, ...findings.warnings.map((f) => `${file}: ${formatPath(f.path)}: ${f.message}`)];
  if (errors.length > 0 || settings === undefined) return { errors, warnings };
  return { config: normaliseConfig(file, data, processEntries(data), settings), errors, warnings };
}

function readText(path: string): { text: string } | { problem: string } {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    return { problem: `${path}: cannot be read (${reason})` };
  }
}

/** Loads the configuration for start-up; throws ConfigError listing every problem. */
export function loadConfigFile(path: string, env: Env = process.env): { config: ManagerConfig; warnings: string[] } {
  const read = readText(path);
  if ('problem' in read) throw new ConfigError([read.problem]);
  const { config, errors, warnings } = evaluateConfig(read.text, path, env);
  if (config === undefined) throw new ConfigError(errors, warnings);
  return { config, warnings };
}

/** For `k8s-job-manager check-config FILE`: every error and warning, never throws for a bad file. */
export function checkConfigFile(path: string, env: Env = process.env): ConfigCheck {
  const read = readText(path);
  if ('problem' in read) return { ok: false, errors: [read.problem], warnings: [] };
  const { errors, warnings } = evaluateConfig(read.text, path, env);
  return { ok: errors.length === 0, errors, warnings };
}
