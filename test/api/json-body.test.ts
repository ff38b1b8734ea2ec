import t from 'tap';
import { jsonDepth, parseJsonBody } from '../../api/json-body.js';
import { OgcError } from '../../api/ogc/exceptions.js';

t.test('nesting depth, strings and escapes skipped', async (t) => {
  const cases: Array<[string, number]> = [
    ['1', 0],
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[[["}', 1],
    ['{"a":"\\\\"}', 1],
    ['[[],[],[[]]]', 3],
  ];
  for (const [text, want] of cases) t.equal(jsonDepth(text), want, text);
  t.equal(jsonDepth('['.repeat(5000), 10), 11, 'stops counting past the limit');
});

t.test('bodies: too deep is a 400 before parsing, bad JSON a 400', async (t) => {
  t.same(parseJsonBody('{"inputs":{"a":[1,2]}}'), { inputs: { a: [1, 2] } });
  t.equal(parseJsonBody('  '), undefined, 'an empty body is no body');
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const tooDeep = t.throws(() => parseJsonBody(deep)) as unknown as OgcError;
  t.ok(tooDeep instanceof OgcError);
  t.equal(tooDeep.status, 400);
  t.match(tooDeep.message, 'nests deeper than 64 levels');
  t.same(parseJsonBody(`${'['.repeat(64)}${']'.repeat(64)}`, 64), JSON.parse(`${'['.repeat(64)}${']'.repeat(64)}`), '64 levels are fine');
  const bad = t.throws(() => parseJsonBody('{"a":')) as unknown as OgcError;
  t.equal(bad.status, 400);
  t.match(bad.message, 'not valid JSON');
});
