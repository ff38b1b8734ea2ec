import t from 'tap';
import { isRecord } from '../../lib/is-record.js';

t.test('isRecord: plain objects only', async (t) => {
  const cases: Array<[string, unknown, boolean]> = [
    ['an object', { a: 1 }, true],
    ['an empty object', {}, true],
    ['a null-prototype object', Object.create(null) as unknown, true],
    ['null', null, false],
    ['an array', [1], false],
    ['a string', '{}', false],
    ['a number', 1, false],
    ['undefined', undefined, false],
  ];
  for (const [what, value, expected] of cases) t.equal(isRecord(value), expected, what);
});
