/** The README's promises that code can check: the env table and the commands it names. */
import t from 'tap';
import { readFileSync } from 'node:fs';
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
