import t from 'tap';
import { parseProgressLine, parseResultMarkers, ProgressScanner, ResultMarkerScanner, type ProgressReport } from '../../lib/result-markers.js';

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

t.test('progress lines: percent and optional message, anything else is not progress', async (t) => {
  const cases: Array<[string, ProgressReport | undefined]> = [
    ['PYGEOAPI_K8S_MANAGER_PROGRESS: 42', { progress: 42 }],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS:42 reading tiles', { progress: 42, message: 'reading tiles' }],
    ['2025-01-01 INFO PYGEOAPI_K8S_MANAGER_PROGRESS: 7  half way  ', { progress: 7, message: 'half way' }],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS: 12.6', { progress: 13 }],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS: 150 too far', { progress: 100, message: 'too far' }],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS: -3', { progress: 0 }],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS: 5 a\u0007b\u001b[31mred', { progress: 5, message: 'a b [31mred' }],
    [`PYGEOAPI_K8S_MANAGER_PROGRESS: 1 ${'x'.repeat(500)}`, { progress: 1, message: 'x'.repeat(200) }],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS: lots', undefined],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS:', undefined],
    ['PYGEOAPI_K8S_MANAGER_PROGRESS: 1e3', undefined],
    ['progress 42', undefined],
  ];
  for (const [line, want] of cases) t.same(parseProgressLine(line), want, JSON.stringify(line.slice(0, 60)));
});

t.test('progress scanner: the latest report across chunk boundaries, none after the result start', async (t) => {
  const scanner = new ProgressScanner();
  t.equal(scanner.latest(), undefined, 'nothing before any marker');
  t.equal(scanner.feed('starting\nPYGEOAPI_K8S_MANAGER_PRO'), false, 'half a marker line is not yet a report');
  t.equal(scanner.feed(Buffer.from('GRESS: 30 step one\n')), true, 'the completed line reports');
  t.same(scanner.latest(), { progress: 30, message: 'step one' });
  t.equal(scanner.feed('PYGEOAPI_K8S_MANAGER_PROGRESS: 30 step one\n'), false, 'the same report again is no change');
  t.equal(scanner.feed('PYGEOAPI_K8S_MANAGER_PROGRESS: 80\nPYGEOAPI_K8S_MANAGER_RESULT_START\nPYGEOAPI_K8S_MANAGER_PROGRESS: 99 inside the value\n'), true);
  t.same(scanner.latest(), { progress: 80 }, 'lines of the result value are not progress');
  t.equal(scanner.feed('PYGEOAPI_K8S_MANAGER_PROGRESS: 100\n'), false, 'finished scanning');
  const long = new ProgressScanner();
  long.feed('y'.repeat(100_000));
  long.feed('\nPYGEOAPI_K8S_MANAGER_PROGRESS: 3\n');
  t.same(long.latest(), { progress: 3 }, 'a long line before the marker is capped, not kept');
});

t.test('the scanner finds the markers however the log is cut into chunks (lines without markers are passed over undecoded)', async (t) => {
  const log = Buffer.from(
    ['plain line\n', 'héllo PYGEOAPI_K8S_MANAGER_RESULT_ not a marker\n', 'x PYGEOAPI_K8S_MANAGER_RESULT_MIMETYPE: text/plain \n', 'more ünïcode\n', 'PYGEOAPI_K8S_MANAGER_RESULT_START\n', 'the välue\n'].join(''),
  );
  for (const size of [1, 2, 3, 5, 7, 13, 31, 64, log.length]) {
    const scanner = new ResultMarkerScanner();
    for (let at = 0; at < log.length; at += size) scanner.feed(log.subarray(at, at + size));
    t.same(scanner.result(), { mimetype: 'text/plain', value: 'the välue', tooLarge: false, valueBytes: Buffer.byteLength('the välue\n') }, `chunks of ${size}`);
  }
});
