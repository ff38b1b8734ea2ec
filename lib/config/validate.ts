/** Checks the parsed YAML against CONFIG_SCHEMA and turns ajv's findings into messages. */
import { Ajv } from 'ajv';
import type { Finding, Findings } from './findings.js';
import { describeSchemaError, unknownKeyMessage } from './messages.js';
import { pointerToPath } from './paths.js';
import { isRecord } from '../is-record.js';
import { CONFIG_SCHEMA } from './schema.js';

const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
ajv.addVocabulary(['message']);
const validateConfig = ajv.compile(CONFIG_SCHEMA);

function knownKeys(schema: unknown): string[] {
  return isRecord(schema) && isRecord(schema.properties) ? Object.keys(schema.properties) : [];
}

/** Schema errors, and unknown keys in processor blocks as warnings. */
export function checkSchema(data: unknown): Findings {
  validateConfig(data);
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const seen = new Set<string>();
  for (const error of validateConfig.errors ?? []) {
    // `if` only selects a branch; anyOf branches are summed up by the anyOf error itself;
    // propertyNames repeats its inner error.
    if (error.keyword === 'if' || error.keyword === 'propertyNames' || error.schemaPath.includes('/anyOf/')) continue;
    const path = pointerToPath(error.instancePath, data);
    const params: Record<string, unknown> = error.params;
    let finding: Finding;
    let target = errors;
    if (error.keyword === 'additionalProperties') {
      const key = String(params.additionalProperty);
      finding = { path: [...path, key], message: unknownKeyMessage(key, knownKeys(error.parentSchema)) };
      target = warnings;
    } else if (error.keyword === 'required') {
      finding = { path: [...path, String(params.missingProperty)], message: 'required' };
    } else {
      if (error.propertyName !== undefined) path.push(error.propertyName);
      finding = { path, message: describeSchemaError(error) };
    }
    const key = JSON.stringify(finding);
    if (seen.has(key)) continue;
    seen.add(key);
    target.push(finding);
  }
  return { errors, warnings };
}
