/** The README's promises that code can check: the env table and the commands it names. */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { environmentMarkdown, ENVIRONMENT_VARIABLES } from '../../lib/config/environment.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

t.test('the environment section is the generated table', async (t) => {
  t.ok(readme.includes(environmentMarkdown()), 'README contains environmentMarkdown() verbatim (regenerate it after changing lib/config/environment.ts)');
  for (const variable of ENVIRONMENT_VARIABLES) t.match(readme, variable.name);
});

t.test('the quick start commands exist', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  for (const script of ['start', 'test', 'build', 'bench']) t.ok(pkg.scripts[script], `npm run ${script} is defined`);
  t.match(readme, 'npm ci && npm start');
  t.match(readme, 'npm test');
});

/** The top-level folders a path in the READMEs starts with: what the repository is made of. */
const REPOSITORY_FOLDERS = ['cmd', 'api', 'webhook', 'controller', 'certs', 'lib', 'local-cluster', 'k8s-manifests', 'test', 'scripts', '.ci', 'api-server', 'kubelet', 'controllers', 'patch'];

/** Paths named in a README (code spans and link targets) that do not exist under any of `bases`. */
function missingPaths(markdown: string, bases: string[], exists: (p: string) => boolean): string[] {
  const named = new Set<string>();
  for (const m of markdown.matchAll(/`([^`\s]+)`|\]\(([^)\s#]+)[^)]*\)/g)) {
    const text = (m[1] ?? m[2]!).replace(/[.,:;]$/, '');
    const first = text.replace(/^\.\//, '').split('/')[0]!;
    if (!text.includes('/') || !REPOSITORY_FOLDERS.includes(first) || /[*<>{}$]/.test(text)) continue;
    named.add(text);
  }
  return [...named].filter((p) => !bases.some((base) => exists(path.join(base, p)))).sort();
}

t.test('every repository path the READMEs name exists', async (t) => {
  const root = path.resolve(import.meta.dirname, '..', '..');
  t.same(missingPaths(readme, [root], existsSync), [], 'README.md');
  const clusterReadme = readFileSync(path.join(root, 'local-cluster/README.md'), 'utf8');
  t.same(missingPaths(clusterReadme, [path.join(root, 'local-cluster'), root], existsSync), [], 'local-cluster/README.md (paths relative to it or to the repository)');
  t.ok(readme.match(/`(?:cmd|api|lib|webhook|controller)\/[^`]+`/g)!.length > 8, 'README.md names many paths, so the check has something to check');
});

t.test('the path check finds a path that does not exist', async (t) => {
  const text = 'Status is decided in `api/jobs/status-info.ts`, kept by [the cache](api/kube/job-cache.ts); `lib/` is shared, `npm test` runs, `k8s-manifests/base/*.yaml` globs are skipped.';
  const have = new Set(['/r/api/kube/job-cache.ts', '/r/lib/']);
  t.same(missingPaths(text, ['/r'], (p) => have.has(p) || have.has(`${p}/`)), ['api/jobs/status-info.ts']);
});
