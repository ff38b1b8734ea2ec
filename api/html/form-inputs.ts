/**
 * The execute form of a process page, both ways: the form fields an input
 * schema asks for, and the submitted form turned back into an execute
 * request (inputs typed by their schemas, errors per input). Pure.
 */
import { TOKEN_INPUT } from '../execution/inputs.js';

export interface InputDoc {
  title?: string;
  description?: string;
  schema?: Record<string, unknown>;
  minOccurs?: number;
  maxOccurs?: number | 'unbounded';
}

export type FieldKind = 'text' | 'password' | 'integer' | 'number' | 'boolean' | 'select' | 'json';

export interface Field {
  id: string;
  /** The form control's name: `input.<id>`. */
  name: string;
  kind: FieldKind;
  required: boolean;
  options?: string[];
  min?: number;
  max?: number;
}

export type ExecutionMode = 'async' | 'sync';

export interface FormSubmission {
  inputs: Record<string, unknown>;
  mode?: ExecutionMode;
  /** Input id → what is wrong with it. */
  errors: Record<string, string>;
}

function many(doc: InputDoc): boolean {
  return doc.maxOccurs === 'unbounded' || (typeof doc.maxOccurs === 'number' && doc.maxOccurs > 1);
}

export function fieldFor(id: string, doc: InputDoc): Field {
  const schema = doc.schema ?? {};
  const required = (doc.minOccurs ?? 1) > 0;
  const base = { id, name: `input.${id}`, required };
  if (id === TOKEN_INPUT) return { ...base, kind: 'password' };
  if (many(doc)) return { ...base, kind: 'json' };
  const enumValues = Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string') ? (schema.enum as string[]) : undefined;
  if (enumValues) return { ...base, kind: 'select', options: enumValues };
  const bounds = {
    ...(typeof schema.minimum === 'number' ? { min: schema.minimum } : {}),
    ...(typeof schema.maximum === 'number' ? { max: schema.maximum } : {}),
  };
  switch (schema.type) {
    case 'string':
      return { ...base, kind: schema.format === 'password' ? 'password' : 'text' };
    case 'integer':
      return { ...base, kind: 'integer', ...bounds };
    case 'number':
      return { ...base, kind: 'number', ...bounds };
    case 'boolean':
      return { ...base, kind: 'boolean' };
    default:
      return { ...base, kind: 'json' };
  }
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** The submitted form as an execute request; `form` holds the urlencoded fields. */
export function parseForm(inputs: Record<string, InputDoc>, form: Record<string, string | string[] | undefined>): FormSubmission {
  const out: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const [id, doc] of Object.entries(inputs)) {
    const field = fieldFor(id, doc);
    const text = one(form[field.name]);
    if (field.kind === 'boolean') {
      out[id] = text === 'true' || text === 'on';
      continue;
    }
    if (text === undefined || text.trim() === '') {
      if (field.required && id !== TOKEN_INPUT) errors[id] = 'required';
      continue;
    }
    switch (field.kind) {
      case 'integer':
      case 'number': {
        const n = Number(text.trim());
        if (!Number.isFinite(n) || (field.kind === 'integer' && !Number.isInteger(n))) errors[id] = `not ${field.kind === 'integer' ? 'a whole number' : 'a number'}: "${text}"`;
        else out[id] = n;
        break;
      }
      case 'json':
        try {
          out[id] = JSON.parse(text) as unknown;
        } catch {
          errors[id] = 'not valid JSON';
        }
        break;
      default:
        out[id] = text;
    }
  }
  const modeText = one(form.mode);
  const mode = modeText === 'sync' || modeText === 'async' ? modeText : undefined;
  return { inputs: out, ...(mode ? { mode } : {}), errors };
}
