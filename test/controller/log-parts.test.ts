import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { partsBody, partsChunks, partsStream, pythonLogParts, totalBytes, type CapturedLog, type LogPart } from '../../controller/log-parts.js';

async function read(parts: LogPart[], start?: number, end?: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of partsStream(parts, start, end)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

t.test('log parts', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'log-parts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = async (name: string, text: string): Promise<CapturedLog> => {
    const f = path.join(dir, name);
    await writeFile(f, text);
    return { container: name, init: false, previous: false, file: f, bytes: Buffer.byteLength(text), complete: true };
  };
  const init = { ...(await file('setup', 'prepared\n')), init: true };
  const previous = { ...(await file('main-0', 'crashed\n')), container: 'main', previous: true };
  const main = { ...(await file('main-1', 'done')), container: 'main' };
  const empty = await file('sidecar', '');

  t.test('the Python layout: headers and logs, in order', async (t) => {
    const parts = pythonLogParts('pod-1', [init, previous, main, empty]);
    const text = await read(parts);
    t.equal(
      text,
      "Logs of pod 'pod-1'\nInit Container 'setup'\nprepared\n\nContainer 'main' (previous instance)\ncrashed\n\nContainer 'main'\ndone\nContainer 'sidecar'\n",
    );
    t.equal(totalBytes(parts), Buffer.byteLength(text), 'the size is known before streaming');
  });

  t.test('chunks in one reused buffer: the same bytes, a file read to its captured size only', async (t) => {
    const parts: LogPart[] = [{ text: Buffer.from('ab') }, { file: init.file, bytes: init.bytes }, { file: main.file, bytes: 3 }, { file: empty.file, bytes: 0 }];
    for (const size of [1, 3, 1024]) {
      const seen: string[] = [];
      for await (const chunk of partsChunks(parts, size)) seen.push(chunk.toString('utf8'));
      t.equal(seen.join(''), 'abprepared\ndon', `chunks of ${size}`);
    }
    const short: LogPart[] = [{ file: main.file, bytes: 10 }];
    await t.rejects(async () => {
      for await (const chunk of partsChunks(short)) void chunk;
    }, /ends at 4, before 10/);
  });

  t.test('any byte range, across parts', async (t) => {
    const parts: LogPart[] = [{ text: Buffer.from('ab') }, { file: init.file, bytes: init.bytes }, { text: Buffer.from('') }, { file: main.file, bytes: main.bytes }];
    const all = 'abprepared\ndone';
    t.equal(await read(parts), all);
    for (const [start, end] of [[0, 1], [1, 5], [2, 11], [10, 13], [11, 15], [14, 15], [5, 5]] as const) {
      t.equal(await read(parts, start, end), all.slice(start, end), `[${start}, ${end})`);
      for (const size of [1, 4, 1024]) {
        const seen: string[] = [];
        for await (const chunk of partsChunks(parts, size, start, end)) seen.push(chunk.toString('utf8'));
        t.equal(seen.join(''), all.slice(start, end), `[${start}, ${end}) in chunks of ${size}`);
      }
      const body = partsBody(parts, start, end - start);
      t.equal(body.length, end - start);
      const streamed: Buffer[] = [];
      for await (const chunk of body.stream()) streamed.push(chunk as Buffer);
      t.equal(Buffer.concat(streamed).toString('utf8'), all.slice(start, end), `[${start}, ${end}) as an upload part, streamed`);
    }
  });
});
