/**
 * Field selectors with the semantics of k8s.io/apimachinery/pkg/fields (`?fieldSelector=`), plus
 * the per-kind field labels kube-apiserver can select on: the labels its field-label conversion
 * functions accept (pkg/apis/<group>/v1/conversion.go) and the values its registries expose
 * (ToSelectableFields / GetAttrs in pkg/registry/.../strategy.go).
 */
import { SelectorParseError } from './label-selector.js';

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

/** Split on commas that are not backslash-escaped; escapes stay in place for unescapeValue. */
function splitTerms(text: string): string[] {
  if (text === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

/** "!=" and "==" are tried before "=" at each position, so "a==b" is not a = "=b". */
const TERM_OPERATORS: readonly FieldOperator[] = ['!=', '==', '='];

function splitTerm(term: string): FieldRequirement | undefined {
  for (let i = 0; i < term.length; i++) {
    const operator = TERM_OPERATORS.find((op) => term.startsWith(op, i));
    if (operator) return { field: term.slice(0, i), operator, value: term.slice(i + operator.length) };
  }
  return undefined;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; bare ',' or '=' are errors. */
function unescapeValue(value: string): string {
  if (!/[\\,=]/.test(value)) return value;
  let out = '';
  let escaped = false;
  for (const c of value) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new SelectorParseError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === ',' || c === '=') {
      // Go prints the rune with %v, i.e. as its code point.
      throw new SelectorParseError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw new SelectorParseError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** fields.ParseSelector: comma-separated `field=value`, `field==value`, `field!=value` terms. */
export function parseFieldSelector(text: string): FieldRequirement[] {
  const reqs: FieldRequirement[] = [];
  for (const term of splitTerms(text).sort()) {
    if (term === '') continue;
    const req = splitTerm(term);
    if (!req) throw new SelectorParseError(`invalid selector: '${text}'; can't understand '${term}'`);
    reqs.push({ ...req, value: unescapeValue(req.value) });
  }
  return reqs;
}

/** A missing field reads as "", like fields.Set.Get. */
export function matchesFields(reqs: FieldRequirement[], fields: Record<string, string>): boolean {
  return reqs.every((req) => {
    const actual = Object.hasOwn(fields, req.field) ? fields[req.field] : '';
    return req.operator === '!=' ? actual !== req.value : actual === req.value;
  });
}

// ---- per-kind field labels ----

type Obj = Record<string, unknown>;

const record = (value: unknown): Obj =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : {};
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

interface KindFieldLabels {
  /** Labels the kind's field-label conversion function accepts. */
  supported: readonly string[];
  /** Kind-specific selectable fields, beyond metadata.name / metadata.namespace. */
  fields?: (obj: Obj) => Record<string, string>;
  /** The conversion function's error for any other label. */
  reject: (label: string) => string;
}

const coreReject = (label: string): string => `field label not supported: ${label}`;

const KINDS: Readonly<Record<string, KindFieldLabels>> = {
  Pod: {
    supported: [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      // Accepted by the conversion but absent from the selectable set: it only ever matches "".
      'status.podIPs',
      'status.nominatedNodeName',
      'spec.host',
    ],
    fields: (pod) => {
      const spec = record(pod.spec);
      const status = record(pod.status);
      const podIPs = Array.isArray(status.podIPs) ? status.podIPs : [];
      const nodeName = text(spec.nodeName);
      return {
        'spec.nodeName': nodeName,
        // Old v1 clients' name for spec.nodeName; the real server renames the label instead.
        'spec.host': nodeName,
        'spec.restartPolicy': text(spec.restartPolicy),
        'spec.schedulerName': text(spec.schedulerName),
        // v1 conversion falls back to the deprecated serviceAccount field.
        'spec.serviceAccountName': text(spec.serviceAccountName) || text(spec.serviceAccount),
        'spec.hostNetwork': String(spec.hostNetwork === true),
        'status.phase': text(status.phase),
        'status.podIP': text(record(podIPs[0]).ip) || text(status.podIP),
        'status.nominatedNodeName': text(status.nominatedNodeName),
      };
    },
    reject: coreReject,
  },
  Event: {
    supported: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
      'metadata.namespace',
      'metadata.name',
    ],
    fields: (event) => {
      const involved = record(event.involvedObject);
      return {
        'involvedObject.kind': text(involved.kind),
        'involvedObject.namespace': text(involved.namespace),
        'involvedObject.name': text(involved.name),
        'involvedObject.uid': text(involved.uid),
        'involvedObject.apiVersion': text(involved.apiVersion),
        'involvedObject.resourceVersion': text(involved.resourceVersion),
        'involvedObject.fieldPath': text(involved.fieldPath),
        reason: text(event.reason),
        reportingComponent: text(event.reportingComponent),
        source: text(record(event.source).component) || text(event.reportingComponent),
        type: text(event.type),
      };
    },
    reject: coreReject,
  },
  // Namespaces are cluster-scoped: metadata.namespace is not a supported label here.
  Namespace: {
    supported: ['status.phase', 'metadata.name'],
    fields: (ns) => ({ 'status.phase': text(record(ns.status).phase) }),
    reject: coreReject,
  },
  Secret: {
    supported: ['type', 'metadata.namespace', 'metadata.name'],
    fields: (secret) => ({ type: text(secret.type) }),
    reject: coreReject,
  },
  Service: {
    supported: ['metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'],
    fields: (service) => {
      const spec = record(service.spec);
      return { 'spec.clusterIP': text(spec.clusterIP), 'spec.type': text(spec.type) };
    },
    reject: coreReject,
  },
  Job: {
    supported: ['metadata.name', 'metadata.namespace', 'status.successful'],
    fields: (job) => {
      const succeeded = record(job.status).succeeded;
      return { 'status.successful': String(typeof succeeded === 'number' ? succeeded : 0) };
    },
    reject: (label) => `field label ${JSON.stringify(label)} not supported for Job`,
  },
};

/** runtime.DefaultMetaV1FieldSelectorConversion, used for every kind without its own function. */
const DEFAULT_KIND: KindFieldLabels = {
  supported: ['metadata.name', 'metadata.namespace'],
  reject: (label) =>
    `${JSON.stringify(label)} is not a known field selector: only "metadata.name", "metadata.namespace"`,
};

const kindLabels = (kind: string): KindFieldLabels => (Object.hasOwn(KINDS, kind) ? KINDS[kind]! : DEFAULT_KIND);

/**
 * The selectable fields of an object of `kind`. metadata.namespace is "" for cluster-scoped
 * objects, which is what the real (absent) field reads as.
 */
export function fieldsOf(kind: string, obj: unknown): Record<string, string> {
  const o = record(obj);
  const metadata = record(o.metadata);
  return {
    ...kindLabels(kind).fields?.(o),
    'metadata.name': text(metadata.name),
    'metadata.namespace': text(metadata.namespace),
  };
}

/** Labels of `reqs` the apiserver refuses for `kind` (in selector order; it reports the first). */
export function unsupportedFieldLabels(kind: string, reqs: FieldRequirement[]): string[] {
  const { supported } = kindLabels(kind);
  return reqs.map((req) => req.field).filter((field) => !supported.includes(field));
}

/** The apiserver's 400 message for an unsupported label; the wording differs per kind. */
export function unsupportedFieldLabelMessage(kind: string, label: string): string {
  return kindLabels(kind).reject(label);
}
