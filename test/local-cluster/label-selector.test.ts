import t from 'tap';
import {
  formatLabelSelector,
  labelKeyErrors,
  labelValueErrors,
  matchesLabels,
  parseLabelSelector,
  selectorFromLabelSelector,
  SelectorParseError,
  type LabelRequirement,
} from '../../local-cluster/api-server/selectors/label-selector.js';

const req = (key: string, operator: LabelRequirement['operator'], ...values: string[]): LabelRequirement => ({
  key,
  operator,
  values,
});

const NAME_RULE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_RULE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

t.test('parseLabelSelector accepts the full kube syntax', async (t) => {
  const cases: Array<[string, LabelRequirement[]]> = [
    ['', []],
    ['   ', []],
    ['a=b', [req('a', '=', 'b')]],
    ['a==b', [req('a', '==', 'b')]],
    ['a!=b', [req('a', '!=', 'b')]],
    ['a', [req('a', 'exists')]],
    ['!a', [req('a', '!')]],
    [' ! a ', [req('a', '!')]],
    ['a>1', [req('a', 'gt', '1')]],
    ['a<20', [req('a', 'lt', '20')]],
    ['a in (y,x)', [req('a', 'in', 'x', 'y')]],
    ['a notin (x)', [req('a', 'notin', 'x')]],
    ['a in (x, x ,y)', [req('a', 'in', 'x', 'y')]],
    ['a in ()', [req('a', 'in', '')]],
    ['a in (,b)', [req('a', 'in', '', 'b')]],
    ['a in (b,)', [req('a', 'in', '', 'b')]],
    ['a in (b,,c)', [req('a', 'in', '', 'b', 'c')]],
    ['a=', [req('a', '=', '')]],
    ['a=,b', [req('a', '=', ''), req('b', 'exists')]],
    // "in"/"notin" are plain words where a key or value is expected.
    ['in in (in,notin)', [req('in', 'in', 'in', 'notin')]],
    ['a=in', [req('a', '=', 'in')]],
    // Requirements come back sorted by key.
    ['z=1,a=2,m', [req('a', '=', '2'), req('m', 'exists'), req('z', '=', '1')]],
    [
      'x in (foo,,baz),y,z notin ()',
      [req('x', 'in', '', 'baz', 'foo'), req('y', 'exists'), req('z', 'notin', '')],
    ],
    [
      'app.kubernetes.io/name=job-manager,environment in (production, qa),!tier',
      [req('app.kubernetes.io/name', '=', 'job-manager'), req('environment', 'in', 'production', 'qa'), req('tier', '!')],
    ],
    ['\ta\t=\tb\n', [req('a', '=', 'b')]],
    ['a=B.c-d_e', [req('a', '=', 'B.c-d_e')]],
    ['x/y.z=1', [req('x/y.z', '=', '1')]],
  ];
  for (const [text, expected] of cases) t.same(parseLabelSelector(text), expected, JSON.stringify(text));
});

t.test('parseLabelSelector rejects bad selectors with the apiserver wording', async (t) => {
  const expected = 'expected: in, notin, =, ==, !=, gt, lt';
  const cases: Array<[string, string]> = [
    [',', "found ',', expected: !, identifier, or 'end of string'"],
    ['a,', "found '', expected: identifier after ','"],
    ['a,,b', "found ',', expected: identifier after ','"],
    ['a b', `unable to parse requirement: found 'b', ${expected}`],
    ['a !b', `unable to parse requirement: found '!', ${expected}`],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a=b=c', "found '=', expected: ',' or 'end of string'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['a=(', "unable to parse requirement: found '(', expected: identifier"],
    ['a in', "unable to parse requirement: found '' expected: '('"],
    ['a in x', "unable to parse requirement: found 'x' expected: '('"],
    ['a in (', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
    ['a in (x', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in (x y)', "unable to parse requirement: found 'y', expected: ',' or ')'"],
    ['a in (x,', "unable to parse requirement: found '', expected: ',', or identifier"],
    ['(a)', "found '(', expected: !, identifier, or 'end of string'"],
    ['a>x', 'unable to parse requirement: values[0]: Invalid value: "x": for \'Gt\', \'Lt\' operators, the value must be an integer'],
    [
      'a<99999999999999999999',
      'unable to parse requirement: values[0]: Invalid value: "99999999999999999999": for \'Gt\', \'Lt\' operators, the value must be an integer',
    ],
    ['Bad_=x', `unable to parse requirement: <nil>: Invalid value: "Bad_": name part ${NAME_RULE}`],
    ['a=b@', `unable to parse requirement: values[0][a]: Invalid value: "b@": ${VALUE_RULE}`],
    [
      'a in (b@,c@)',
      `unable to parse requirement: [values[0][a]: Invalid value: "b@": ${VALUE_RULE}, values[1][a]: Invalid value: "c@": ${VALUE_RULE}]`,
    ],
    ['a=' + 'v'.repeat(64), `unable to parse requirement: values[0][a]: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
  ];
  for (const [text, message] of cases) {
    t.throws(() => parseLabelSelector(text), new SelectorParseError(message), JSON.stringify(text));
  }
  t.throws(() => parseLabelSelector('a b'), SelectorParseError, 'the error class lets the server answer 400');
});

t.test('labelKeyErrors validates qualified names', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['app', []],
    ['example.com/app', []],
    ['a'.repeat(63), []],
    ['k8s.io/' + 'a'.repeat(63), []],
    ['a'.repeat(64), ['name part must be no more than 63 characters']],
    ['', ['name part must be non-empty', `name part ${NAME_RULE}`]],
    ['/app', ['prefix part must be non-empty']],
    ['example.com/', ['name part must be non-empty', `name part ${NAME_RULE}`]],
    [
      'Example.com/app',
      [
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ],
    ],
    ['-app', [`name part ${NAME_RULE}`]],
    [
      'a/b/c',
      [
        `a qualified name ${NAME_RULE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
      ],
    ],
  ];
  for (const [key, errors] of cases) t.same(labelKeyErrors(key), errors, JSON.stringify(key));
});

t.test('labelValueErrors validates label values', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['v1.2-rc_3', []],
    ['x'.repeat(63), []],
    ['x'.repeat(64), ['must be no more than 63 characters']],
    ['-x', [VALUE_RULE]],
    ['x y', [VALUE_RULE]],
  ];
  for (const [value, errors] of cases) t.same(labelValueErrors(value), errors, JSON.stringify(value));
});

t.test('matchesLabels follows labels.Requirement.Matches', async (t) => {
  const labels = { app: 'web', tier: 'frontend', replicas: '3', weird: 'x1' };
  const cases: Array<[string, Record<string, string> | undefined, boolean]> = [
    ['', labels, true],
    ['', undefined, true],
    ['app=web', labels, true],
    ['app==web', labels, true],
    ['app=db', labels, false],
    ['missing=', labels, false],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    ['missing!=x', labels, true],
    ['app in (db,web)', labels, true],
    ['app in (db)', labels, false],
    ['missing in (x)', labels, false],
    ['app notin (db)', labels, true],
    ['app notin (web)', labels, false],
    ['missing notin (x)', labels, true],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['replicas>2', labels, true],
    ['replicas>3', labels, false],
    ['replicas<4', labels, true],
    ['replicas<3', labels, false],
    ['weird>0', labels, false],
    ['missing>0', labels, false],
    ['app=web,tier=frontend', labels, true],
    ['app=web,tier=backend', labels, false],
    ['app', undefined, false],
    ['!app', undefined, true],
    ['constructor', {}, false],
  ];
  for (const [selector, set, expected] of cases) {
    t.equal(matchesLabels(parseLabelSelector(selector), set), expected, `${selector} on ${JSON.stringify(set)}`);
  }
});

t.test('formatLabelSelector gives the canonical form, which parses back unchanged', async (t) => {
  const cases: Array<[string, string]> = [
    ['', ''],
    ['b=2,a=1', 'a=1,b=2'],
    ['a==1', 'a==1'],
    ['a!=1', 'a!=1'],
    ['a in (z,y)', 'a in (y,z)'],
    ['a notin (x)', 'a notin (x)'],
    ['a', 'a'],
    ['!a', '!a'],
    ['a>1,b<2', 'a>1,b<2'],
    ['a in ()', 'a in ()'],
  ];
  for (const [input, canonical] of cases) {
    const reqs = parseLabelSelector(input);
    t.equal(formatLabelSelector(reqs), canonical, input);
    t.same(parseLabelSelector(formatLabelSelector(reqs)), reqs, `${input} round-trips`);
  }
  t.equal(
    formatLabelSelector([req('k', 'in', 'b', 'a')]),
    'k in (a,b)',
    'values are sorted on output even when given unsorted',
  );
});

t.test('selectorFromLabelSelector converts metav1.LabelSelector', async (t) => {
  const cases: Array<[Parameters<typeof selectorFromLabelSelector>[0], LabelRequirement[]]> = [
    [undefined, []],
    [{}, []],
    [{ matchLabels: {}, matchExpressions: [] }, []],
    [{ matchLabels: { 'controller-uid': 'abc', app: 'x' } }, [req('app', '=', 'x'), req('controller-uid', '=', 'abc')]],
    [
      {
        matchLabels: { app: 'x' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['qa', 'prod'] },
          { key: 'tier', operator: 'NotIn', values: ['db'] },
          { key: 'b', operator: 'Exists' },
          { key: 'c', operator: 'DoesNotExist', values: [] },
        ],
      },
      [req('app', '=', 'x'), req('b', 'exists'), req('c', '!'), req('env', 'in', 'qa', 'prod'), req('tier', 'notin', 'db')],
    ],
  ];
  for (const [selector, expected] of cases) t.same(selectorFromLabelSelector(selector), expected, JSON.stringify(selector));

  const labels = { app: 'x', env: 'prod' };
  t.ok(matchesLabels(selectorFromLabelSelector({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }), labels));
  t.notOk(matchesLabels(selectorFromLabelSelector({ matchLabels: { app: 'y' } }), labels));
  t.ok(matchesLabels(selectorFromLabelSelector({}), labels), 'empty selector matches everything');
});

t.test('selectorFromLabelSelector rejects invalid selectors like the apiserver', async (t) => {
  const cases: Array<[Parameters<typeof selectorFromLabelSelector>[0], string]> = [
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }, '"Equals" is not a valid label selector operator'],
    [{ matchExpressions: [{ key: 'a', operator: 'in', values: ['b'] }] }, '"in" is not a valid label selector operator'],
    [
      { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'NotIn' }] },
      "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
    ],
    [{ matchLabels: { 'bad key': 'x' } }, `key: Invalid value: "bad key": name part ${NAME_RULE}`],
    [{ matchLabels: { ok: 'bad value' } }, `values[0][ok]: Invalid value: "bad value": ${VALUE_RULE}`],
  ];
  for (const [selector, message] of cases) {
    t.throws(() => selectorFromLabelSelector(selector), new SelectorParseError(message), JSON.stringify(selector));
  }
});
