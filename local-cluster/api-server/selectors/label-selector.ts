/**
 * Label selectors with the semantics of k8s.io/apimachinery/pkg/labels: the string syntax of
 * `?labelSelector=`, conversion of a metav1.LabelSelector, matching and canonical formatting.
 * Error texts follow kube-apiserver's word for word, so a 400 from the local cluster reads like
 * one from a real cluster (kubectl prints them verbatim).
 */

/** selection.Operator values; '!' is DoesNotExist. */
export type LabelOperator = 'in' | 'notin' | 'exists' | '!' | '=' | '==' | '!=' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/** metav1.LabelSelector (structurally compatible with client-node's V1LabelSelector). */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** A selector the apiserver would reject with 400 BadRequest; the message is the real one. */
export class SelectorParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorParseError';
  }
}

// ---- label key / value validation (k8s.io/apimachinery/pkg/util/validation) ----

const NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const NAME_RE = new RegExp(`^${NAME_FMT}$`);
const NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const VALUE_FMT = `(${NAME_FMT})?`;
const VALUE_RE = new RegExp(`^${VALUE_FMT}$`);
const VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN_FMT = `${DNS_LABEL_FMT}(\\.${DNS_LABEL_FMT})*`;
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN_FMT}$`);
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const MAX_NAME = 63;
const MAX_SUBDOMAIN = 253;

/** validation.RegexError, including its odd "'a',  or 'b', " punctuation that kubectl users see. */
function regexError(message: string, format: string, ...examples: string[]): string {
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${format}')`;
}

const maxLenError = (length: number): string => `must be no more than ${length} characters`;

function subdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > MAX_SUBDOMAIN) errors.push(maxLenError(MAX_SUBDOMAIN));
  if (!SUBDOMAIN_RE.test(value)) errors.push(regexError(SUBDOMAIN_MSG, SUBDOMAIN_FMT, 'example.com'));
  return errors;
}

/** validation.IsQualifiedName: `[prefix/]name`, the format of label keys. Empty list = valid. */
export function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  const errors: string[] = [];
  let name: string;
  if (parts.length === 1) {
    name = key;
  } else if (parts.length === 2) {
    const [prefix = '', rest = ''] = parts;
    name = rest;
    if (prefix.length === 0) errors.push('prefix part must be non-empty');
    else errors.push(...subdomainErrors(prefix).map((e) => `prefix part ${e}`));
  } else {
    return [
      `a qualified name ${regexError(NAME_MSG, NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (name.length > MAX_NAME) errors.push(`name part ${maxLenError(MAX_NAME)}`);
  if (!NAME_RE.test(name)) errors.push(`name part ${regexError(NAME_MSG, NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errors;
}

/** validation.IsValidLabelValue. Empty list = valid. */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > MAX_NAME) errors.push(maxLenError(MAX_NAME));
  if (!VALUE_RE.test(value)) errors.push(regexError(VALUE_MSG, VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errors;
}

// ---- requirements ----

/** field.Invalid(...).Error(); the parser validates without a field path, which Go prints as "<nil>". */
function invalid(path: string, value: unknown, detail: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

/** utilerrors.Aggregate.Error(): one message alone, several (deduplicated) in brackets. */
function aggregate(messages: string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`;
}

/** strconv.ParseInt(v, 10, 64); undefined when it would fail. */
function parseInt64(value: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(value)) return undefined;
  const n = BigInt(value);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

/** labels.NewRequirement: validates key, operator arity and values. */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const errors: string[] = [];
  const keyErrors = labelKeyErrors(key);
  if (keyErrors.length) errors.push(invalid('key', key, keyErrors.join('; ')));
  // Go marshals an empty (nil) value list as null.
  const badValues = values.length ? values : null;
  const check = (ok: boolean, detail: string): void => {
    if (!ok) errors.push(invalid('values', badValues, detail));
  };
  switch (operator) {
    case 'in':
    case 'notin':
      check(values.length > 0, "for 'in', 'notin' operators, values set can't be empty");
      break;
    case '=':
    case '==':
    case '!=':
      check(values.length === 1, 'exact-match compatibility requires one single value');
      break;
    case 'exists':
    case '!':
      check(values.length === 0, 'values set must be empty for exists and does not exist');
      break;
    case 'gt':
    case 'lt':
      check(values.length === 1, "for 'Gt', 'Lt' operators, exactly one value is required");
      values.forEach((v, i) => {
        if (parseInt64(v) !== undefined) return;
        errors.push(invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const valueErrors = labelValueErrors(v);
    if (valueErrors.length) errors.push(invalid(`values[${i}][${key}]`, v, valueErrors.join('; ')));
  });
  if (errors.length) throw new SelectorParseError(aggregate(errors));
  return { key, operator, values };
}

/** Requirements are kept sorted by key, as labels.Parse and Selector.Add do. */
const sortByKey = (reqs: LabelRequirement[]): LabelRequirement[] =>
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** sets.String.List(): unique and sorted. */
const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

// ---- lexer ----

type TokenKind = 'eos' | 'identifier' | 'in' | 'notin' | '!' | '=' | '==' | '!=' | '>' | '<' | '(' | ')' | ',';

interface Token {
  kind: TokenKind;
  text: string;
}

const SYMBOLS: ReadonlySet<string> = new Set(['!', '=', '==', '!=', '>', '<', '(', ')', ',']);
const isSymbolChar = (c: string): boolean => '=!(),><'.includes(c);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && isSpace(text[i]!)) i++;
    if (i >= text.length) {
      tokens.push({ kind: 'eos', text: '' });
      return tokens;
    }
    if (isSymbolChar(text[i]!)) {
      // Longest operator spelled by consecutive symbol characters: "!=" is one token, "=(" two.
      let symbol = text[i++]!;
      while (i < text.length && SYMBOLS.has(symbol + text[i])) symbol += text[i++];
      tokens.push({ kind: symbol as TokenKind, text: symbol });
    } else {
      const start = i;
      while (i < text.length && !isSymbolChar(text[i]!) && !isSpace(text[i]!)) i++;
      const word = text.slice(start, i);
      tokens.push({ kind: word === 'in' || word === 'notin' ? word : 'identifier', text: word });
    }
  }
}

// ---- parser (recursive descent, same grammar and messages as labels.Parse) ----

const OPERATOR_TOKENS: Partial<Record<TokenKind, LabelOperator>> = {
  in: 'in',
  notin: 'notin',
  '=': '=',
  '==': '==',
  '!=': '!=',
  '>': 'gt',
  '<': 'lt',
};

const fail = (message: string): SelectorParseError => new SelectorParseError(message);

class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  /** Where a value is expected the words "in"/"notin" are plain identifiers: `x in (in)`. */
  private peek(asValue = true): Token {
    const token = this.tokens[Math.min(this.pos, this.tokens.length - 1)]!;
    return asValue && (token.kind === 'in' || token.kind === 'notin') ? { kind: 'identifier', text: token.text } : token;
  }

  private next(asValue = true): Token {
    const token = this.peek(asValue);
    this.pos++;
    return token;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const start = this.peek();
      if (start.kind === 'eos') return reqs;
      if (start.kind !== 'identifier' && start.kind !== '!') {
        throw fail(`found '${start.text}', expected: !, identifier, or 'end of string'`);
      }
      try {
        reqs.push(this.requirement());
      } catch (error) {
        if (error instanceof SelectorParseError) throw fail(`unable to parse requirement: ${error.message}`);
        throw error;
      }
      const separator = this.next();
      if (separator.kind === 'eos') return reqs;
      if (separator.kind !== ',') throw fail(`found '${separator.text}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.kind !== 'identifier' && following.kind !== '!') {
        throw fail(`found '${following.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): LabelRequirement {
    let unary: LabelOperator | undefined;
    let keyToken = this.next();
    if (keyToken.kind === '!') {
      unary = '!';
      keyToken = this.next();
    }
    if (keyToken.kind !== 'identifier') throw fail(`found '${keyToken.text}', expected: identifier`);
    const key = keyToken.text;
    const keyErrors = labelKeyErrors(key);
    if (keyErrors.length) throw fail(invalid('<nil>', key, keyErrors.join('; ')));
    const after = this.peek().kind;
    if (after === 'eos' || after === ',') unary ??= 'exists';
    // "!a=b" parses as "!a" followed by junk, reported by the caller.
    if (unary) return newRequirement(key, unary, []);

    const operatorToken = this.next(false);
    const operator = OPERATOR_TOKENS[operatorToken.kind];
    if (!operator) throw fail(`found '${operatorToken.text}', expected: in, notin, =, ==, !=, gt, lt`);
    const values = operator === 'in' || operator === 'notin' ? this.valueSet() : this.exactValue();
    return newRequirement(key, operator, sortedUnique(values));
  }

  /** `(a,b)`; empty members are the empty string: "()", "(,a)", "(a,,b)", "(a,)". */
  private valueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') throw fail(`found '${open.text}' expected: '('`);
    const first = this.peek();
    if (first.kind === ')') {
      this.next();
      return [''];
    }
    if (first.kind !== 'identifier' && first.kind !== ',') {
      throw fail(`found '${first.text}', expected: ',', ')' or identifier`);
    }
    const values: string[] = [];
    for (;;) {
      const token = this.next();
      if (token.kind === 'identifier') {
        values.push(token.text);
        const after = this.peek();
        if (after.kind === ')') break;
        if (after.kind !== ',') throw fail(`found '${after.text}', expected: ',' or ')'`);
      } else if (token.kind === ',') {
        if (values.length === 0) values.push('');
        const after = this.peek();
        if (after.kind === ')') {
          values.push('');
          break;
        }
        if (after.kind === ',') {
          this.next();
          values.push('');
        }
      } else {
        throw fail(`found '${token.text}', expected: ',', or identifier`);
      }
    }
    this.next(); // the ')' seen above
    return values;
  }

  /** The value after =, ==, !=, > or <; missing means the empty string ("a=" selects a=""). */
  private exactValue(): string[] {
    const after = this.peek().kind;
    if (after === 'eos' || after === ',') return [''];
    const token = this.next();
    if (token.kind !== 'identifier') throw fail(`found '${token.text}', expected: identifier`);
    return [token.text];
  }
}

// ---- public API ----

/** labels.Parse: the empty string selects everything. Throws SelectorParseError. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  return sortByKey(new Parser(tokenize(text)).parse());
}

const EXPRESSION_OPERATORS: Readonly<Record<string, LabelOperator>> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * metav1.LabelSelectorAsSelector. An empty selector selects everything. A missing one also
 * yields [] (everything): the real function returns "nothing" for nil, but every selector the
 * local cluster evaluates (Job spec.selector, webhook namespace/object selectors) is defaulted
 * before use, so callers that truly need "nothing" must check for undefined themselves.
 */
export function selectorFromLabelSelector(selector: LabelSelectorSpec | undefined): LabelRequirement[] {
  if (!selector) return [];
  const reqs = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => newRequirement(key, '=', [value]));
  for (const expression of selector.matchExpressions ?? []) {
    const operator = Object.hasOwn(EXPRESSION_OPERATORS, expression.operator)
      ? EXPRESSION_OPERATORS[expression.operator]!
      : undefined;
    if (!operator) throw fail(`${JSON.stringify(expression.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(expression.key, operator, [...(expression.values ?? [])]));
  }
  return sortByKey(reqs);
}

function matchesRequirement(req: LabelRequirement, labels: Record<string, string>): boolean {
  const present = Object.hasOwn(labels, req.key);
  const value = present ? labels[req.key]! : '';
  switch (req.operator) {
    case 'in':
    case '=':
    case '==':
      return present && req.values.includes(value);
    case 'notin':
    case '!=':
      return !present || !req.values.includes(value);
    case 'exists':
      return present;
    case '!':
      return !present;
    case 'gt':
    case 'lt': {
      const actual = present ? parseInt64(value) : undefined;
      const bound = req.values.length === 1 ? parseInt64(req.values[0]!) : undefined;
      if (actual === undefined || bound === undefined) return false;
      return req.operator === 'gt' ? actual > bound : actual < bound;
    }
  }
}

/** True when every requirement holds (an empty list matches everything). */
export function matchesLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  return reqs.every((req) => matchesRequirement(req, labels ?? {}));
}

function formatRequirement(req: LabelRequirement): string {
  if (req.operator === 'exists') return req.key;
  if (req.operator === '!') return `!${req.key}`;
  const values = req.values.length === 1 ? req.values[0]! : [...req.values].sort().join(',');
  switch (req.operator) {
    case 'in':
    case 'notin':
      return `${req.key} ${req.operator} (${values})`;
    case 'gt':
      return `${req.key}>${values}`;
    case 'lt':
      return `${req.key}<${values}`;
    default:
      return `${req.key}${req.operator}${values}`;
  }
}

/** Selector.String(): the canonical text, which parses back to the same requirements. */
export function formatLabelSelector(reqs: LabelRequirement[]): string {
  return reqs.map(formatRequirement).join(',');
}
