/**
 * Reads the YAML text the way pygeoapi does (PyYAML's YAML 1.1 SafeLoader plus
 * pygeoapi's `${VAR}` / `${VAR:-default}` substitution), so that an existing
 * pygeoapi configuration means the same here. Problems carry file:line:column.
 */
import { isScalar, LineCounter, parseDocument, visit, type Document, type Tags } from 'yaml';
import type { Env } from './environment.js';
import type { PathSegment } from './paths.js';

export interface YamlSource {
  /** The document as plain data; undefined when errors is not empty. */
  data: unknown;
  errors: string[];
  warnings: string[];
  /** How a number at `path` was written (`1.0` stays `1.0`), for values the Python manager turns into text. */
  numberAsWritten(path: readonly PathSegment[]): string | undefined;
}

/** PyYAML's YAML 1.1: booleans without y/n, and no timestamps (pygeoapi would print them as text anyway). */
function pyYamlTags(tags: Tags): Tags {
  return tags
    .filter((tag) => typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:timestamp')
    .map((tag) => {
      if (typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:bool' || !('test' in tag) || !tag.test) return tag;
      const test = tag.test.test('true')
        ? /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/
        : /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
      return { ...tag, test };
    });
}

const ENV_REFERENCE = /\$\{(\w+)(?::-([^}]+))?\}/g;

/** pygeoapi's get_typed_value: a substituted text becomes a number when it reads as one. */
function typedLikePygeoapi(value: string): string | number {
  if (value.includes('.')) return /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value) ? Number(value) : value;
  if (value.length > 1 && value.startsWith('0')) return value;
  return /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
}

export function readYaml(text: string, file: string, env: Env): YamlSource {
  const lineCounter = new LineCounter();
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const doc = parseDocument(text, {
    lineCounter,
    version: '1.1',
    merge: true,
    // PyYAML keeps the last of duplicate keys; we do the same and warn.
    uniqueKeys: false,
    prettyErrors: false,
    customTags: pyYamlTags,
  });
  const errors = doc.errors.map((e) => `${at(e.pos[0])}: ${e.message}`);
  const warnings = doc.warnings.map((w) => `${at(w.pos[0])}: ${w.message}`);
  const numberAsWritten = (path: readonly PathSegment[]): string | undefined => {
    const node = doc.getIn(path, true);
    return isScalar(node) && typeof node.value === 'number' ? node.source : undefined;
  };
  if (errors.length === 0) {
    errors.push(...substituteEnvironment(doc, env, at));
    warnings.push(...duplicateKeys(doc, at));
  }
  if (errors.length > 0) return { data: undefined, errors, warnings, numberAsWritten };
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }), errors, warnings, numberAsWritten };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { data: undefined, errors: [`${file}: ${message}`], warnings, numberAsWritten };
  }
}

/** Plain (unquoted) scalars only, as PyYAML's implicit resolver that pygeoapi registers. */
function substituteEnvironment(doc: Document.Parsed, env: Env, at: (offset: number) => string): string[] {
  const errors: string[] = [];
  visit(doc, {
    Scalar(_, node) {
      if (node.type !== 'PLAIN' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const missing: string[] = [];
      const substituted = node.value.replace(ENV_REFERENCE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name] ?? fallback;
        if (value === undefined) missing.push(name);
        return value ?? '';
      });
      const offset = node.range?.[0] ?? 0;
      for (const name of missing) {
        errors.push(`${at(offset)}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      }
      node.value = typedLikePygeoapi(substituted);
      node.source = substituted;
    },
  });
  return errors;
}

function duplicateKeys(doc: Document.Parsed, at: (offset: number) => string): string[] {
  const warnings: string[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || pair.key.value === '<<') continue;
        if (seen.has(pair.key.value)) {
          warnings.push(`${at(pair.key.range?.[0] ?? 0)}: duplicate key ${JSON.stringify(pair.key.value)}; the last one is used`);
        }
        seen.add(pair.key.value);
      }
    },
  });
  return warnings;
}
