/** Readable messages for ajv errors (our schema's and the Kubernetes schemas of kubernetes-models). */
import type { ErrorObject } from 'ajv';
import { isRecord } from '../is-record.js';

const TYPE_WORDS: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

/** Keywords whose generic ajv text would be unhelpful, so the schema may carry a `message`. */
const CUSTOMISABLE = new Set(['pattern', 'format', 'enum', 'const', 'anyOf', 'oneOf', 'not']);

function customMessage(error: ErrorObject): string | undefined {
  const schema: unknown = error.parentSchema;
  return isRecord(schema) && typeof schema.message === 'string' ? schema.message : undefined;
}

function list(values: unknown): string {
  return Array.isArray(values) ? values.map((v) => JSON.stringify(v)).join(', ') : String(values);
}

function typeWords(type: unknown): string {
  const words = (Array.isArray(type) ? type : [type]).map((t) => TYPE_WORDS[String(t)] ?? String(t));
  const last = words.pop() ?? '';
  return words.length === 0 ? last : `${words.join(', ')} or ${last}`;
}

/** The message for one ajv error; `required` errors are reported at the missing key by the caller. */
export function describeSchemaError(error: ErrorObject): string {
  const custom = CUSTOMISABLE.has(error.keyword) ? customMessage(error) : undefined;
  if (custom !== undefined) return custom;
  const p: Record<string, unknown> = error.params;
  switch (error.keyword) {
    case 'required':
      return 'required';
    case 'type':
      return `must be ${typeWords(p.type)}`;
    case 'enum':
      return `must be one of ${list(p.allowedValues)}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'minimum':
      return `must be at least ${String(p.limit)}`;
    case 'maximum':
      return `must be at most ${String(p.limit)}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} characters`;
    case 'minItems':
      return `must have at least ${String(p.limit)} ${p.limit === 1 ? 'entry' : 'entries'}`;
    case 'pattern':
      return `must match ${String(p.pattern)}`;
    case 'format':
      return `must be a valid ${String(p.format)}`;
    default:
      return error.message ?? `fails ${error.keyword}`;
  }
}

function snakeToCamel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** "unknown key (ignored)", with a hint when the other spelling convention is a known key. */
export function unknownKeyMessage(key: string, knownKeys: readonly string[]): string {
  const alternative = [snakeToCamel(key), camelToSnake(key)].find((k) => k !== key && knownKeys.includes(k));
  return alternative === undefined ? 'unknown key (ignored)' : `unknown key (ignored); did you mean ${alternative}?`;
}
