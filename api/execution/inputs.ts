/**
 * Checking an execute request's inputs against the process description:
 * required inputs, cardinality, and each value against its JSON schema.
 * The auth token is checked in constant time and removed before anything
 * else sees the inputs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { InputDescription, ProcessDefinition } from '../../lib/config/types.js';
import { invalidInput, missingToken, wrongToken } from '../ogc/exceptions.js';
import { isRecord } from '../../lib/is-record.js';

export const TOKEN_INPUT = 'token';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** A qualified value `{ value, mediaType }` or a link `{ href }` stands for its value. */
function plainValue(value: unknown): { value: unknown; link: boolean } {
  if (isRecord(value) && typeof value.href === 'string') return { value, link: true };
  if (isRecord(value) && 'value' in value && Object.keys(value).every((k) => ['value', 'mediaType', 'encoding', 'schema'].includes(k))) {
    return { value: value.value, link: false };
  }
  return { value, link: false };
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || 'value'} ${e.message ?? 'is invalid'}`).join('; ');
}

function checkOne(id: string, description: InputDescription, value: unknown, problems: string[]): void {
  const { value: plain, link } = plainValue(value);
  if (link) return;
  const validate = validatorFor(description.schema);
  if (!validate(plain)) problems.push(`input "${id}": ${describe(validate.errors)}`);
}

/** Returns the inputs without the token; throws a 400 naming every bad input. */
export function validateInputs(process: ProcessDefinition, inputs: Record<string, unknown>): Record<string, unknown> {
  const problems: string[] = [];
  const described = process.metadata.inputs;
  for (const [id, description] of Object.entries(described)) {
    const present = id in inputs && inputs[id] !== null && inputs[id] !== undefined;
    const min = description.minOccurs ?? 1;
    const max = description.maxOccurs ?? 1;
    if (!present) {
      if (min > 0 && id !== TOKEN_INPUT) problems.push(`input "${id}" is required`);
      continue;
    }
    const value = inputs[id];
    const many = max === 'unbounded' || max > 1;
    const schemaIsArray = description.schema.type === 'array';
    if (Array.isArray(value) && many && !schemaIsArray) {
      if (value.length < min) problems.push(`input "${id}" needs at least ${min} values`);
      if (max !== 'unbounded' && value.length > max) problems.push(`input "${id}" takes at most ${max} values`);
      value.forEach((v) => checkOne(id, description, v, problems));
    } else if (id !== TOKEN_INPUT) checkOne(id, description, value, problems);
  }
  if (problems.length) throw invalidInput(problems.join('; '));
  const { [TOKEN_INPUT]: _token, ...rest } = inputs;
  void _token;
  return rest;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** 401 without a token, 403 with a wrong one (also when no token is configured). Constant time. */
export function checkToken(process: ProcessDefinition, inputs: Record<string, unknown>, expected: string | undefined): void {
  if (!process.checkAuth) return;
  const given = plainValue(inputs[TOKEN_INPUT]).value;
  if (given === undefined || given === null || given === '') throw missingToken();
  if (typeof given !== 'string' || expected === undefined || expected === '') throw wrongToken();
  if (!timingSafeEqual(digest(given), digest(expected))) throw wrongToken();
}
