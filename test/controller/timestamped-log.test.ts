import t from 'tap';
import { LogFormatError, parseRfc3339Nanos, TimestampedLogParser, type LogPiece } from '../../controller/timestamped-log.js';

/** Feeds `input` in chunks of `size` bytes; returns the kept bytes and the line ends. */
function run(input: string, size: number, resumeAfter?: bigint): { kept: string; lines: string[] } {
  const parser = new TimestampedLogParser(resumeAfter);
  const bytes = Buffer.from(input);
  const kept: Buffer[] = [];
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    for (const piece of parser.push(bytes.subarray(i, i + size)) as LogPiece[]) {
      if (piece.type === 'content') kept.push(Buffer.from(piece.data));
      else lines.push(piece.timestamp);
    }
  }
  return { kept: Buffer.concat(kept).toString('utf8'), lines };
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
  for (const size of [1, 2, 7, 31, 1000]) {
    const got = run(input, size);
    t.equal(got.kept, 'first line\n\nlast, no newline', `chunks of ${size}: content`);
    t.same(got.lines, [A, B], `chunks of ${size}: line ends (the unfinished line has none)`);
  }
});

t.test('drops lines stamped at or before the resume point', async (t) => {
  const input = `${A} old\n${B} also old\n${C} new\n`;
  const got = run(input, 5, parseRfc3339Nanos(B));
  t.equal(got.kept, 'new\n');
  t.same(got.lines, [C]);
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
  const pieces = gap.push(Buffer.from(`${C} after a rotation\n`));
  t.equal(gap.gap, true, 'a newer line before the one we stopped at');
  t.equal(gap.anchored, false);
  t.same(
    pieces.filter((p) => p.type === 'content').map((p) => (p.type === 'content' ? p.data.toString() : '')),
    ['after a rotation\n'],
    'what comes after the gap is kept',
  );
  t.equal(new TimestampedLogParser().anchored, true, 'a first read needs no proof');
});

t.test('line times are exact and checked on every line, many lines a second or not', async (t) => {
  const ends: bigint[] = [];
  const parser = new TimestampedLogParser();
  const input = ['2026-01-01T00:00:00.5Z a\n', '2026-01-01T00:00:00.000000007Z b\n', '2026-01-01T00:00:01Z c\n', '2026-01-01T00:00:01.25Z d\n', '2026-01-01T00:00:00.9Z e\n'];
  for (const piece of parser.push(Buffer.from(input.join('')))) if (piece.type === 'line-end') ends.push(piece.nanos);
  t.same(ends, [1767225600500000000n, 1767225600000000007n, 1767225601000000000n, 1767225601250000000n, 1767225600900000000n]);
  const second = new TimestampedLogParser();
  second.push(Buffer.from('2026-01-01T00:00:00.5Z a\n'));
  t.throws(() => second.push(Buffer.from('2026-01-01T00:00:00.1x3Z b\n')), { name: 'LogFormatError' }, 'a bad fraction within a known second');
  t.throws(() => second.push(Buffer.from('2026-01-01T00:00:00.1234567890Z b\n')), { name: 'LogFormatError' }, 'ten fraction digits within a known second');
});
