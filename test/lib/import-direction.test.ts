/**
 * Imports run one way: cmd → parts → certs → lib.
 *
 *   - cmd/ (entry points, wiring) may import anything; a part only through
 *     its entry `<part>/index.ts` (each part exposes one start…(options)).
 *   - The parts — api/, webhook/, controller/, local-cluster/ — import
 *     themselves, certs/ and lib/, never each other and never cmd/.
 *   - certs/ (TLS material, generic) imports only itself and lib/.
 *   - lib/ (what every part shares) imports only lib/.
 *
 * Checked on the source import graph (static, dynamic and type-only imports
 * alike: a type import the wrong way is still a dependency the wrong way),
 * and on a synthetic table so the check is seen to fail.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importGraph, importSpecifiers } from '../helpers/import-graph.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const PARTS = ['api', 'webhook', 'controller', 'local-cluster'];
const FOLDERS = ['cmd', ...PARTS, 'certs', 'lib'];

function folderOf(file: string): string {
  return file.split('/')[0]!;
}

/** Why an import from `from` to `to` (repository-relative files) runs the wrong way, or undefined when it is allowed. */
function wrongWay(from: string, to: string): string | undefined {
  const a = folderOf(from);
  const b = folderOf(to);
  if (!FOLDERS.includes(b)) return `${from} imports ${to}, outside the product folders`;
  if (a === b) return undefined;
  if (a === 'cmd') {
    if (PARTS.includes(b) && to !== `${b}/index.ts`) return `${from} reaches into ${to}: cmd/ starts a part through ${b}/index.ts`;
    return undefined;
  }
  if (b === 'cmd') return `${from} imports the composition root ${to}`;
  if (b === 'lib') return undefined;
  if (b === 'certs') return PARTS.includes(a) ? undefined : `${from} (${a}) may import only lib/, not ${to}`;
  return `${from} (${a}) imports ${to} (${b}): ${a === 'lib' || a === 'certs' ? `${a}/ depends on no part` : 'parts do not import each other'}`;
}

function violations(graphRoot: string): string[] {
  const out: string[] = [];
  for (const [file, imports] of importGraph(graphRoot, FOLDERS)) {
    for (const i of imports) {
      if (i.isPackage) continue;
      const why = wrongWay(file, i.target);
      if (why) out.push(why);
    }
  }
  return out;
}

t.test('the rule, as a table', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['cmd/main.ts', 'cmd/commands/serve.ts', true],
    ['cmd/parts/run-parts.ts', 'api/index.ts', true],
    ['cmd/parts/run-parts.ts', 'api/jobs/results.ts', false],
    ['cmd/local/run-local.ts', 'local-cluster/index.ts', true],
    ['cmd/commands/certs.ts', 'certs/generate.ts', true],
    ['cmd/main.ts', 'lib/contract.ts', true],
    ['api/index.ts', 'lib/archive/reader.ts', true],
    ['api/index.ts', 'api/jobs/results.ts', true],
    ['api/index.ts', 'controller/index.ts', false],
    ['webhook/server.ts', 'api/index.ts', false],
    ['controller/index.ts', 'cmd/main.ts', false],
    ['local-cluster/index.ts', 'certs/generate.ts', true],
    ['certs/generate.ts', 'lib/contract.ts', true],
    ['certs/generate.ts', 'webhook/index.ts', false],
    ['lib/contract.ts', 'lib/config/index.ts', true],
    ['lib/archive/reader.ts', 'api/index.ts', false],
    ['lib/ops.ts', 'cmd/parts/ops-server.ts', false],
    ['lib/contract.ts', 'certs/generate.ts', false],
    ['api/index.ts', 'test/helpers/x.ts', false],
  ];
  for (const [from, to, allowed] of cases) t.equal(wrongWay(from, to) === undefined, allowed, `${from} → ${to}: ${allowed ? 'allowed' : 'wrong way'}`);
});

t.test('import specifiers are found in every form', async (t) => {
  const code = [
    "import a from './a.js';",
    "import type { B } from '../b.js';",
    "import {\n  c,\n  type D,\n} from './c.js';",
    "export { e } from './e.js';",
    "export type { F } from './f.js';",
    "import './side-effect.js';",
    "const g = await import('./g.js');",
    "// import x from './commented.js';",
    "/* import y from './block.js'; */",
    "const url = 'http://example.org/'; import z from 'pkg/sub';",
  ].join('\n');
  t.same(importSpecifiers(code), [
    { specifier: './a.js', dynamic: false, typeOnly: false },
    { specifier: '../b.js', dynamic: false, typeOnly: true },
    { specifier: './c.js', dynamic: false, typeOnly: false },
    { specifier: './e.js', dynamic: false, typeOnly: false },
    { specifier: './f.js', dynamic: false, typeOnly: true },
    { specifier: './side-effect.js', dynamic: false, typeOnly: false },
    { specifier: 'pkg/sub', dynamic: false, typeOnly: false },
    { specifier: './g.js', dynamic: true, typeOnly: false },
  ]);
});

t.test('a synthetic tree with wrong-way imports fails the check', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'import-direction-'));
  const file = (name: string, code: string): void => {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), code);
  };
  file('lib/shared.ts', "import type { Api } from '../api/index.js';\nexport const x = 1;\n");
  file('api/index.ts', "import { x } from '../lib/shared.js';\nexport async function startApi() { return (await import('../controller/index.js')).y + x; }\n");
  file('controller/index.ts', "export const y = 2;\n");
  file('cmd/main.ts', "import { startApi } from '../api/index.js';\nimport { y } from '../controller/index.js';\nimport '../webhook/server.js';\n");
  file('webhook/server.ts', 'export {};\n');
  t.same(violations(dir), [
    'api/index.ts (api) imports controller/index.ts (controller): parts do not import each other',
    'cmd/main.ts reaches into webhook/server.ts: cmd/ starts a part through webhook/index.ts',
    'lib/shared.ts (lib) imports api/index.ts (api): lib/ depends on no part',
  ]);
});

t.test('the repository: every import runs the right way', async (t) => {
  const graph = importGraph(root, FOLDERS);
  t.ok(graph.size > 100, `the graph covers the product (${graph.size} files)`);
  t.same(violations(root), [], 'no import runs the wrong way');
});
