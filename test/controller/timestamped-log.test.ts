import t from 'tap';
import { LogFormatError, parseRfc3339Nanos, TimestampedLogParser } from '../../controller/timestamped-log.js';

/**
 * Feeds `input` in chunks of `size` bytes; returns the kept bytes and each
 * chunk's last line end: where it ends in the kept bytes, and its timestamp.
 */
function run(input: string, size: number, resumeAfter?: bigint): { kept: string; ends: Array<[number, string]> } {
  const parser = new TimestampedLogParser(resumeAfter);
  const bytes = Buffer.from(input);
  const kept: Buffer[] = [];
  let keptBytes = 0;
  const ends: Array<[number, string]> = [];
  for (let i = 0; i < bytes.length; i += size) {
    const { content, lastLine } = parser.push(Buffer.from(bytes.subarray(i, i + size)));
    if (lastLine) ends.push([keptBytes + lastLine.end, lastLine.timestamp]);
    // A copy: the parser reuses its buffer for the next chunk.
    kept.push(Buffer.from(content));
    keptBytes += content.length;
  }
  return { kept: Buffer.concat(kept).toString('utf8'), ends };
}

t.test('parseRfc3339Nanos', async (t) => {
  const cases: Array<[string, bigint | undefined]> = [
    ['2026-01-01T00:00:00Z', 1767225600000000000n],
    ['2026-01-01T00:00:00.5Z', 1767225600500000000n],
    ['2026-01-01T00:00:00.000000001Z', 1767225600000000001n],
    ['2026-01-01T01:00:00.25+01:00', 1767225600250000000n],
    ['2026-01-01 00:00:00Z', undefined],
    ['2026-01-01T00:00:00.1234567890Z', undefined],
    ['yesterday', undefined],
  ];
  for (const [text, want] of cases) t.equal(parseRfc3339Nanos(text), want, text);
  // Real kubelets trim trailing zeros: comparison must be numeric, not textual.
  t.ok(parseRfc3339Nanos('2026-01-01T00:00:00.1Z')! > parseRfc3339Nanos('2026-01-01T00:00:00.09Z')!);
});

const A = '2026-01-01T00:00:00.000000001Z';
const B = '2026-01-01T00:00:00.000000002Z';
const C = '2026-01-01T00:00:00.3Z';

t.test('strips timestamps, keeps the bytes, reports line ends', async (t) => {
  const input = `${A} first line\n${B} \n${C} last, no newline`;
  for (const size of [1, 2, 7, 31, 45, 80, 1000]) {
    const got = run(input, size);
    t.equal(got.kept, 'first line\n\nlast, no newline', `chunks of ${size}: content`);
    // Each chunk reports its last line end only (the unfinished line has none).
    const want: Array<[number, string]> = size < 74 ? [[11, A], [12, B]] : [[12, B]];
    t.same(got.ends, want, `chunks of ${size}: line ends`);
  }
});

t.test('chunk boundaries anywhere: inside timestamps, right after them, inside lines, at newlines', async (t) => {
  // Many lines a second (the fast path) and a new second (parsed as text), lines of 0 to 40 bytes.
  const lines: string[] = [];
  for (let i = 0; i < 60; i++) {
    const stamp = i < 30 ? `2026-01-01T00:00:00.${String(i + 1).padStart(3, '0')}Z` : `2026-01-01T00:00:01.${String(i).padStart(9, '0')}Z`;
    lines.push(`${stamp} ${'x'.repeat(i % 41)}\n`);
  }
  const input = `${lines.join('')}2026-01-01T00:00:02Z cut`;
  const whole = run(input, input.length);
  t.equal(whole.kept, lines.map((l) => l.slice(l.indexOf(' ') + 1)).join('') + 'cut');
  const lastStamp = lines[59]!.slice(0, lines[59]!.indexOf(' '));
  t.same(whole.ends, [[whole.kept.length - 3, lastStamp]]);
  for (const size of [1, 3, 13, 30, 31, 32, 97]) {
    const got = run(input, size);
    t.equal(got.kept, whole.kept, `chunks of ${size}: content`);
    t.same(got.ends.at(-1), whole.ends[0], `chunks of ${size}: the last line end`);
    for (const [end, stamp] of got.ends) {
      const line = lines.find((l) => l.startsWith(`${stamp} `))!;
      t.equal(whole.kept.slice(0, end).endsWith(line.slice(line.indexOf(' ') + 1)), true, `chunks of ${size}: ${stamp} ends where its line ends`);
    }
  }
  const resumed = run(input, 7, parseRfc3339Nanos('2026-01-01T00:00:00.030Z'));
  t.equal(resumed.kept, lines.slice(30).map((l) => l.slice(l.indexOf(' ') + 1)).join('') + 'cut', 'resumed in the fast path: lines at or before the point dropped');
});

t.test('drops lines stamped at or before the resume point', async (t) => {
  const input = `${A} old\n${B} also old\n${C} new\n`;
  const got = run(input, 5, parseRfc3339Nanos(B));
  t.equal(got.kept, 'new\n');
  t.same(got.ends, [[4, C]]);
});

t.test('midLine tells whether a line was cut', async (t) => {
  const parser = new TimestampedLogParser();
  t.equal(parser.midLine, false);
  parser.push(Buffer.from(`${A} par`));
  t.equal(parser.midLine, true);
  parser.push(Buffer.from('tial\n'));
  t.equal(parser.midLine, false);
  parser.push(Buffer.from('2026-01'));
  t.equal(parser.midLine, true, 'inside a timestamp');
});

t.test('refuses logs without timestamps', async (t) => {
  t.throws(() => new TimestampedLogParser().push(Buffer.from('plain log line\n')), { name: 'LogFormatError', message: /not an RFC 3339 time/ });
  t.throws(() => new TimestampedLogParser().push(Buffer.from('x'.repeat(100))), { name: 'LogFormatError', message: /does not start with a timestamp/ }, 'no space for too long');
  t.ok(new LogFormatError('x') instanceof Error);
});

t.test('a resumed read proves it continues the last one, or reports the gap', async (t) => {
  const resume = parseRfc3339Nanos(B);
  const anchored = new TimestampedLogParser(resume);
  anchored.push(Buffer.from(`${A} older, same second\n`));
  t.equal(anchored.anchored, false, 'nothing proven yet');
  anchored.push(Buffer.from(`${B} the line we stopped at\n${C} new\n`));
  t.equal(anchored.anchored, true);
  t.equal(anchored.gap, false);

  const gap = new TimestampedLogParser(resume);
  const parsed = gap.push(Buffer.from(`${C} after a rotation\n`));
  t.equal(gap.gap, true, 'a newer line before the one we stopped at');
  t.equal(gap.anchored, false);
  t.equal(parsed.content.toString(), 'after a rotation\n', 'what comes after the gap is kept');
  t.equal(new TimestampedLogParser().anchored, true, 'a first read needs no proof');
});

t.test('line times are exact and checked on every line, many lines a second or not', async (t) => {
  const ends: bigint[] = [];
  const parser = new TimestampedLogParser();
  const input = ['2026-01-01T00:00:00.5Z a\n', '2026-01-01T00:00:00.000000007Z b\n', '2026-01-01T00:00:01Z c\n', '2026-01-01T00:00:01.25Z d\n', '2026-01-01T00:00:00.9Z e\n'];
  for (const line of input) ends.push(parser.push(Buffer.from(line)).lastLine!.nanos);
  t.same(ends, [1767225600500000000n, 1767225600000000007n, 1767225601000000000n, 1767225601250000000n, 1767225600900000000n]);
  const second = new TimestampedLogParser();
  second.push(Buffer.from('2026-01-01T00:00:00.5Z a\n'));
  t.throws(() => second.push(Buffer.from('2026-01-01T00:00:00.1x3Z b\n')), { name: 'LogFormatError' }, 'a bad fraction within a known second');
  t.throws(() => second.push(Buffer.from('2026-01-01T00:00:00.1234567890Z b\n')), { name: 'LogFormatError' }, 'ten fraction digits within a known second');
});
