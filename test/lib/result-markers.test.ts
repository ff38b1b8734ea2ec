import t from 'tap';
import { parseResultMarkers, ResultMarkerScanner } from '../../lib/result-markers.js';

const M = 'PYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE:';
const S = 'PYGEOAPI_K8S_MANAGER_RESULT_START';

t.test('parses markers from whole logs', async (t) => {
  const cases: Array<[string, string, { mimetype?: string; value?: string }]> = [
    ['no markers', 'hello\nworld\n', {}],
    ['json result', `x\n${M}application/json\n${S}\n{"a":1}\n`, { mimetype: 'application/json', value: '{"a":1}' }],
    ['spaces after colon, prefix before marker', `[log] ${M} text/plain \n${S}\nhi`, { mimetype: 'text/plain', value: 'hi' }],
    ['multi-line value keeps newlines', `${M}text/plain\n${S}\nline1\nline2\n`, { mimetype: 'text/plain', value: 'line1\nline2' }],
    ['start without mimetype', `${S}\nvalue`, { value: 'value' }],
    ['first mimetype wins', `${M}a/b\n${M}c/d\n${S}\nv\n`, { mimetype: 'a/b', value: 'v' }],
    ['empty mimetype ignored', `${M}\n${S}\n`, { value: '' }],
    ['marker at end without newline', `${M}application/json`, { mimetype: 'application/json' }],
    ['markers later in the value are part of it', `${S}\n${M}x/y\n`, { value: `${M}x/y` }],
    ['crlf trailing newline removed', `${S}\r\nabc\r\n`, { value: 'abc' }],
  ];
  for (const [what, log, want] of cases) {
    const got = parseResultMarkers(log);
    t.equal(got.mimetype, want.mimetype, `${what}: mimetype`);
    t.equal(got.value, want.value, `${what}: value`);
  }
});

t.test('chunk boundaries do not matter', async (t) => {
  const log = `noise\n${M}application/json\nmore noise ünïcode\n${S}\n{"x": "ü"}\n`;
  const whole = parseResultMarkers(log);
  const bytes = Buffer.from(log);
  for (let size = 1; size < 12; size++) {
    const scanner = new ResultMarkerScanner();
    for (let i = 0; i < bytes.length; i += size) scanner.feed(bytes.subarray(i, i + size));
    t.same(scanner.result(), whole, `chunks of ${size}`);
  }
});

t.test('values past the limit are reported, not kept', async (t) => {
  const scanner = new ResultMarkerScanner(10);
  scanner.feed(`${S}\n`);
  scanner.feed('x'.repeat(25));
  const got = scanner.result();
  t.equal(got.tooLarge, true);
  t.equal(got.value, undefined);
  t.equal(got.valueBytes, 25);
});

t.test('long non-marker lines do not grow memory without bound', async (t) => {
  const scanner = new ResultMarkerScanner();
  for (let i = 0; i < 100; i++) scanner.feed('y'.repeat(100_000));
  scanner.feed(`\n${M}text/plain\n${S}\nok`);
  t.same(scanner.result(), { mimetype: 'text/plain', value: 'ok', tooLarge: false, valueBytes: 2 });
});
