/**
 * Checking execute inputs against the process description (required,
 * cardinality, schema; qualified values and links) and the token rules
 * (401 missing, 403 wrong, token never passed on).
 */
import t from 'tap';
import { checkInputsSize, checkToken, validateInputs } from '../../api/execution/inputs.js';
import { OgcError } from '../../api/ogc/exceptions.js';
import { processDefinition } from '../helpers/api-processes.js';
import { expectOgc } from '../helpers/ogc-schemas.js';

const process = processDefinition('inputs-test', {
  name: { schema: { type: 'string', minLength: 1 } },
  count: { schema: { type: 'integer', minimum: 1 }, minOccurs: 0 },
  colour: { schema: { type: 'string', enum: ['red', 'green'] }, minOccurs: 0, maxOccurs: 1 },
  tags: { schema: { type: 'string' }, minOccurs: 0, maxOccurs: 2 },
  points: { schema: { type: 'number' }, minOccurs: 2, maxOccurs: 'unbounded' },
  bbox: { schema: { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 }, minOccurs: 0 },
  options: { schema: { type: 'object', required: ['mode'], properties: { mode: { type: 'string' } } }, minOccurs: 0 },
  token: { schema: { type: 'string' } },
  grid: { schema: { type: 'string', contentMediaType: 'application/x-netcdf' }, minOccurs: 0 },
}, undefined, { hrefInputs: ['options', 'grid'] });

const valid = { name: 'Ada', points: [1, 2] };

/** The error `fn` throws, or undefined. */
function thrown(fn: () => unknown): OgcError | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof OgcError) return error;
    throw error;
  }
  return undefined;
}

t.test('valid inputs pass, without the token', async (t) => {
  const rows: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['required only', valid, valid],
    ['every optional input', { ...valid, count: 3, colour: 'red', tags: ['a', 'b'], bbox: [0, 0, 1, 1], options: { mode: 'fast' } }, { ...valid, count: 3, colour: 'red', tags: ['a', 'b'], bbox: [0, 0, 1, 1], options: { mode: 'fast' } }],
    ['one value of a maxOccurs 2 input', { ...valid, tags: 'a' }, { ...valid, tags: 'a' }],
    ['unbounded takes many', { name: 'Ada', points: [1, 2, 3, 4, 5, 6] }, { name: 'Ada', points: [1, 2, 3, 4, 5, 6] }],
    ['a qualified value is checked by its value and kept as given', { ...valid, name: { value: 'Ada', mediaType: 'text/plain' } }, { ...valid, name: { value: 'Ada', mediaType: 'text/plain' } }],
    ['a link is accepted as it is', { ...valid, options: { href: 'https://example.org/options.json', type: 'application/json' } }, { ...valid, options: { href: 'https://example.org/options.json', type: 'application/json' } }],
    ['an optional input given as null counts as absent', { ...valid, count: null }, { ...valid, count: null }],
    ['the token is removed', { ...valid, token: 'secret' }, valid],
  ];
  for (const [what, inputs, want] of rows) t.same(validateInputs(process, inputs), want, what);
  const given = { ...valid, token: 'secret' };
  validateInputs(process, given);
  t.equal(given.token, 'secret', "the caller's object is not changed");
});

t.test('invalid inputs: 400 invalid-input naming each input and why', async (t) => {
  const rows: Array<[string, Record<string, unknown>, Array<string | RegExp>]> = [
    ['missing required input', { points: [1, 2] }, ['"name"', 'required']],
    ['required input given as null', { name: null, points: [1, 2] }, ['"name"', 'required']],
    ['wrong type', { ...valid, name: 42 }, ['"name"', 'string']],
    ['schema keyword (minLength)', { ...valid, name: '' }, ['"name"', /fewer than 1|minLength|at least/i]],
    ['integer below minimum', { ...valid, count: 0 }, ['"count"', '>= 1']],
    ['number that is not an integer', { ...valid, count: 1.5 }, ['"count"', 'integer']],
    ['enum', { ...valid, colour: 'blue' }, ['"colour"', 'allowed values']],
    ['too many values', { ...valid, tags: ['a', 'b', 'c'] }, ['"tags"', 'at most 2']],
    ['too few values', { name: 'Ada', points: [1] }, ['"points"', 'at least 2']],
    ['each value is checked', { name: 'Ada', points: [1, 'two', 3] }, ['"points"', 'number']],
    ['an array for a single-valued input', { ...valid, colour: ['red', 'green'] }, ['"colour"']],
    ['an array-typed input is checked as a whole', { ...valid, bbox: [0, 0, 1] }, ['"bbox"', /fewer than 4|minItems/]],
    ['object schema: missing property', { ...valid, options: { speed: 1 } }, ['"options"', 'mode']],
    ['a qualified value with a wrong value', { ...valid, count: { value: 'three', mediaType: 'text/plain' } }, ['"count"', 'integer']],
    ['an input the process does not declare', { ...valid, colour: 'red', nmae: 'typo', extra: 1 }, ['the process has no input "nmae", "extra"', '(it takes "name", "count"']],
    ['a reference where the process wants a value', { ...valid, name: { href: 'https://example.org/name.txt' } }, ['"name" cannot be given by reference']],
    ['a reference that is not http(s)', { ...valid, options: { href: 'file:///etc/passwd' } }, ['"options": href must be an absolute http(s) URL']],
    ['a reference with extra members', { ...valid, options: { href: 'https://example.org/o.json', value: 3 } }, ['"options": a reference has only', 'not value']],
    ['a reference of the wrong media type', { ...valid, grid: { href: 'https://example.org/g.tif', type: 'image/tiff' } }, ['"grid"', 'not the application/x-netcdf']],
    ['several problems are all named', { name: 7, points: [1], count: -1 }, ['"name"', '"points"', '"count"']],
  ];
  for (const [what, inputs, parts] of rows) {
    const error = thrown(() => validateInputs(process, inputs));
    if (!error) {
      t.fail(`${what}: accepted`);
      continue;
    }
    t.equal(error.status, 400, `${what}: 400`);
    t.match(error.type, /invalid-input$/, `${what}: invalid-input`);
    for (const part of parts) t.match(error.message, part, `${what}: message has ${String(part)}`);
    expectOgc(t, 'exception', error.body('/processes/inputs-test/execution'), `${what}: a valid OGC exception`);
  }
});

t.test('free-form inputs and references by opt-in only', async (t) => {
  const freeForm = processDefinition('free', { name: { schema: { type: 'string' } } }, undefined, { freeFormInputs: true });
  t.same(validateInputs(freeForm, { name: 'x', anything: { deep: [1] } }), { name: 'x', anything: { deep: [1] } }, 'free_form_inputs passes undeclared inputs on');
  t.same(validateInputs(process, { ...valid, grid: { href: 'https://example.org/g.nc', type: 'application/x-netcdf' } }), { ...valid, grid: { href: 'https://example.org/g.nc', type: 'application/x-netcdf' } }, 'a matching reference');
  const noInputs = processDefinition('none', {});
  t.match(thrown(() => validateInputs(noInputs, { a: 1 }))?.message, 'it takes no inputs');
});

t.test('the serialized inputs have a size limit: 413 naming it', async (t) => {
  t.doesNotThrow(() => checkInputsSize({ a: 'x'.repeat(100) }, 1024));
  t.doesNotThrow(() => checkInputsSize({ a: 'x'.repeat(10_000) }, 0), '0: no limit');
  const error = thrown(() => checkInputsSize({ a: 'é'.repeat(600) }, 1024));
  t.equal(error?.status, 413, 'bytes are counted, not characters');
  t.match(error?.message, /take 1208 bytes serialized; the limit is 1024 bytes \(PYGEOAPI_K8S_MANAGER_MAX_INPUTS_BYTES\)/);
});

t.test('a declared token input is not required by the input check (the token check decides)', async (t) => {
  t.same(validateInputs(process, valid), valid);
});

t.test('token rules', async (t) => {
  const secured = processDefinition('secured', { token: { schema: { type: 'string' } } }, undefined, { checkAuth: true });
  const open = processDefinition('open', {}, undefined, { checkAuth: false });
  const rows: Array<[string, typeof secured, Record<string, unknown>, string | undefined, number | undefined]> = [
    ['check_auth false: no token needed', open, {}, 'expected', undefined],
    ['check_auth false: even a wrong token is fine', open, { token: 'nope' }, 'expected', undefined],
    ['the right token', secured, { token: 'expected' }, 'expected', undefined],
    ['the right token as a qualified value', secured, { token: { value: 'expected' } }, 'expected', undefined],
    ['no token: 401', secured, {}, 'expected', 401],
    ['null token: 401', secured, { token: null }, 'expected', 401],
    ['empty token: 401', secured, { token: '' }, 'expected', 401],
    ['wrong token: 403', secured, { token: 'expected!' }, 'expected', 403],
    ['a prefix of the token: 403', secured, { token: 'expect' }, 'expected', 403],
    ['a number as token: 403', secured, { token: 12345 }, '12345', 403],
    ['no token configured on the server: any token is wrong', secured, { token: 'anything' }, undefined, 403],
    ['empty token configured on the server: any token is wrong', secured, { token: 'anything' }, '', 403],
  ];
  for (const [what, proc, inputs, expected, status] of rows) {
    const error = thrown(() => checkToken(proc, inputs, expected));
    if (status === undefined) {
      t.equal(error, undefined, `${what}: accepted`);
      continue;
    }
    t.equal(error?.status, status, `${what}: ${status}`);
    if (!error) continue;
    const given = inputs.token;
    if (typeof given === 'string' && given) t.notOk(error.message.includes(given), `${what}: the message does not echo the given token`);
    if (expected) t.notOk(error.message.includes(expected), `${what}: the message does not reveal the expected token`);
    if (status === 401) t.ok(error.headers['www-authenticate'], `${what}: WWW-Authenticate on 401`);
    expectOgc(t, 'exception', error.body(), `${what}: a valid OGC exception`);
  }
});
