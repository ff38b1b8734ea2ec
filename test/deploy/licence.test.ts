/**
 * LICENSE is the Apache License 2.0, and NOTICE lists exactly the
 * production dependencies of the lockfile as `npm run notice`
 * (scripts/generate-notice.mjs) generates it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { REPO_ROOT } from './helpers/manifests.js';

const SCRIPT = path.join(REPO_ROOT, 'scripts/generate-notice.mjs');

function generator(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: REPO_ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

t.test('LICENSE is the Apache License 2.0, word for word', async (t) => {
  const text = await readFile(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
  // SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt
  t.equal(createHash('sha256').update(text).digest('hex'), 'cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30', 'the canonical text');
  t.match(text, /Apache License\s+Version 2\.0, January 2004/, 'its heading');
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { license: string };
  t.equal(pkg.license, 'Apache-2.0', 'package.json says the same');
});

t.test('NOTICE is up to date', async (t) => {
  const check = await generator(['--check']);
  t.equal(check.code, 0, `node scripts/generate-notice.mjs --check passes ${check.stderr}`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'notice-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stale = path.join(dir, 'NOTICE');
  const current = await readFile(path.join(REPO_ROOT, 'NOTICE'), 'utf8');
  await writeFile(stale, current.replace(/^ {2}yaml .*\n/m, ''));
  const failed = await generator(['--check', '--notice', stale]);
  t.equal(failed.code, 1, 'a NOTICE missing a package fails the check');
  t.match(failed.stderr, /npm run notice/, 'and says how to fix it');

  const regenerated = path.join(dir, 'NOTICE.new');
  t.equal((await generator(['--notice', regenerated])).code, 0, 'the generator writes a file');
  t.equal(await readFile(regenerated, 'utf8'), current, 'which is NOTICE');
});

t.test('NOTICE lists the production dependencies, and no development ones', async (t) => {
  const notice = await readFile(path.join(REPO_ROOT, 'NOTICE'), 'utf8');
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; license?: string; dev?: boolean }> };
  for (const name of Object.keys(pkg.dependencies)) {
    const entry = lock.packages[`node_modules/${name}`]!;
    t.ok(notice.includes(`\n  ${name} ${entry.version}  ${entry.license ?? ''}`), `${name} ${entry.version} (${entry.license ?? '?'})`);
  }
  for (const name of Object.keys(pkg.devDependencies)) {
    if (lock.packages[`node_modules/${name}`]?.dev) t.notOk(notice.includes(`\n  ${name} `), `dev dependency ${name} is not listed`);
  }
  t.notMatch(notice, /UNKNOWN/, 'every package has a known licence');
  t.match(notice, /----- bare-path [\d.]+: NOTICE -----\nCopyright 2023 Holepunch Inc/, 'NOTICE files of dependencies are reproduced');
});
