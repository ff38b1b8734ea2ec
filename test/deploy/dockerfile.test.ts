/**
 * The Dockerfile, checked without a Docker engine (there is none here): its
 * stages read as intended, and both are replayed on the file system — the
 * build stage's COPYs into an empty folder and its TypeScript build run
 * there, then the runtime stage's COPYs and its ENTRYPOINT run on the
 * result. So a source folder missing from a COPY (or from .dockerignore), a
 * wrong entry point or a runtime import of a dev dependency fails here.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ENVIRONMENT_VARIABLES } from '../../lib/config/environment.js';
import { copies, execForm, instructions, keptByDockerignore, labels, parseDockerfile, stage, type Stage } from './helpers/dockerfile.js';
import { REPO_ROOT } from './helpers/manifests.js';

interface PackageJson {
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: { node: string };
  dependencies: Record<string, string>;
}

const source = await readFile(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerignore = await readFile(path.join(REPO_ROOT, '.dockerignore'), 'utf8');
const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
const tsconfigBuild = JSON.parse(await readFile(path.join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
const dockerfile = parseDockerfile(source);
const build = stage(dockerfile, 'build');
const runtime = stage(dockerfile, 'runtime');

function run(file: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Where an image path lands in the replay: absolute paths under `root`, relative ones under the stage's WORKDIR. */
function place(root: string, workdir: string, imagePath: string): string {
  return path.join(root, path.isAbsolute(imagePath) ? imagePath : path.join(workdir, imagePath));
}

function workdirOf(s: Stage): string {
  return instructions(s, 'WORKDIR').at(-1) ?? '/';
}

/** Replays a stage's COPY instructions from the build context (or a replayed stage) into `root`. */
async function replayCopies(s: Stage, root: string, stages: Record<string, string>): Promise<void> {
  const workdir = workdirOf(s);
  for (const copy of copies(s)) {
    for (const src of copy.sources) {
      const from = copy.from ? place(stages[copy.from]!, workdirOf(stage(dockerfile, copy.from)), src) : path.join(REPO_ROOT, src);
      const isDir = (await stat(from)).isDirectory();
      const dest = place(root, workdir, copy.destination);
      // `COPY a b/` and `COPY a ./` put a file into the folder; `COPY dir ./dir` copies the folder's content.
      const target = !isDir && (copy.destination.endsWith('/') || copy.sources.length > 1) ? path.join(dest, path.basename(src)) : dest;
      await mkdir(isDir ? target : path.dirname(target), { recursive: true });
      await cp(from, target, { recursive: true });
    }
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

t.test('stages: build with dev dependencies, run with production ones only', async (t) => {
  t.same(dockerfile.stages.map((s) => s.name), ['build', 'runtime'], 'two stages');
  t.equal(dockerfile.globalArgs.NODE_IMAGE, 'node:22-bookworm-slim', 'Node 22 LTS on Debian slim (Node 20 reached end of life on 2026-04-30)');
  t.same(dockerfile.stages.map((s) => s.base), ['${NODE_IMAGE}', '${NODE_IMAGE}'], 'both stages on the same Node image');
  t.match(pkg.engines.node, />=\s*20/, 'package.json needs Node >= 20, which the image has');

  const buildRuns = instructions(build, 'RUN');
  t.ok(buildRuns.some((r) => /^npm ci\b/.test(r) && r.includes('--ignore-scripts') && !r.includes('--omit')), 'build: npm ci with dev dependencies, without the prepare script');
  t.ok(buildRuns.some((r) => r.startsWith('npm run build')), 'build: npm run build');
  const copied = copies(build).flatMap((c) => c.sources);
  for (const folder of tsconfigBuild.include) t.ok(copied.includes(folder), `build: copies ${folder}/ (tsconfig.build.json compiles it)`);

  const runtimeRuns = instructions(runtime, 'RUN');
  t.ok(runtimeRuns.some((r) => /^npm ci\b/.test(r) && r.includes('--omit=dev') && r.includes('--ignore-scripts')), 'runtime: npm ci --omit=dev --ignore-scripts');
  t.same(copies(runtime).filter((c) => c.from).map((c) => [c.from, c.sources]), [['build', ['/app/dist']]], 'runtime: takes only the compiled code from the build stage');
  const user = instructions(runtime, 'USER').at(-1) ?? 'root';
  t.match(user, /^[1-9]\d*(:[1-9]\d*)?$/, 'runtime: a numeric non-root user (runAsNonRoot can check it)');
  t.same(execForm(runtime, 'ENTRYPOINT'), ['node', pkg.bin['k8s-job-manager']], 'ENTRYPOINT runs the package\'s bin');
  t.same(execForm(runtime, 'CMD'), ['serve', '--config', '/pygeoapi/local.config.yml'], 'CMD: serve on the Python manager\'s config path');
  t.ok(copies(runtime).some((c) => c.sources.includes('pygeoapi-config.yaml') && c.destination === '/pygeoapi/local.config.yml'), 'a default configuration at that path');
  const exposed = instructions(runtime, 'EXPOSE').flatMap((e) => e.split(/\s+/));
  t.same(exposed, ['5000', '8443', '9090'], 'exposes the API, webhook and ops ports');
});

t.test('build arguments become OCI labels', async (t) => {
  const args = instructions(runtime, 'ARG').map((a) => a.split('=')[0]);
  const l = labels(runtime);
  const wanted: Record<string, string> = {
    VERSION: 'org.opencontainers.image.version',
    GIT_COMMIT: 'org.opencontainers.image.revision',
    BUILD_DATE: 'org.opencontainers.image.created',
    GIT_TAG: 'k8s-job-manager.git.tag',
    GIT_BRANCH: 'k8s-job-manager.git.branch',
  };
  for (const [arg, label] of Object.entries(wanted)) {
    t.ok(args.includes(arg), `ARG ${arg}`);
    t.equal(l[label], `\${${arg}}`, `${label} is \${${arg}}`);
  }
  t.equal(instructions(runtime, 'ARG').find((a) => a.startsWith('VERSION='))?.split('=')[1], pkg.version, 'VERSION defaults to the package version');
  t.equal(l['org.opencontainers.image.licenses'], pkg.license, 'licence label as package.json');
  for (const key of ['title', 'description', 'vendor', 'url', 'source']) t.ok(l[`org.opencontainers.image.${key}`], `org.opencontainers.image.${key}`);
});

t.test('the documented docker run uses the Python manager\'s variables, all of which exist', async (t) => {
  const known = new Set(ENVIRONMENT_VARIABLES.map((v) => v.name));
  const documented = [...source.matchAll(/^#\s+-e (\w+)=/gm)].map((m) => m[1]!);
  t.same(documented, [
    'PYGEOAPI_K8S_MANAGER_NAMESPACE',
    'PYGEOAPI_K8S_MANAGER_API_TOKEN',
    'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_ENDPOINT',
    'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_KEY',
    'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_SECRET',
    'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_NAME',
    'PYGEOAPI_K8S_MANAGER_FINALIZER_BUCKET_PATH_PREFIX',
  ], 'the variables of the Python README\'s docker run');
  for (const name of documented) t.ok(known.has(name), `${name} is read by the manager (lib/config/environment.ts)`);
  const env = instructions(runtime, 'ENV').join(' ');
  t.match(env, /PYGEOAPI_CONFIG=\/pygeoapi\/local\.config\.yml/, 'PYGEOAPI_CONFIG as in the Python image');
});

t.test('every COPY source exists and survives .dockerignore', async (t) => {
  for (const s of dockerfile.stages) {
    for (const copy of copies(s).filter((c) => !c.from)) {
      for (const src of copy.sources) {
        const full = path.join(REPO_ROOT, src);
        const files = (await stat(full)).isDirectory() ? await filesUnder(full) : [full];
        t.ok(files.length > 0, `${s.name}: ${src} exists`);
        const dropped = files.map((f) => path.relative(REPO_ROOT, f).split(path.sep).join('/')).filter((f) => !keptByDockerignore(dockerignore, f));
        t.same(dropped, [], `${s.name}: ${src} is in the build context`);
      }
    }
  }
  for (const local of ['node_modules/yaml/package.json', '.git/HEAD', '.local/kubeconfig', 'test/deploy/rbac.test.ts', 'dist/cmd/main.js']) {
    t.notOk(keptByDockerignore(dockerignore, local), `${local} stays out of the build context`);
  }
});

t.test('replaying the stages builds an image whose entry point runs', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dockerfile-replay-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const roots = { build: path.join(dir, 'build'), runtime: path.join(dir, 'runtime') };
  await replayCopies(build, roots.build, roots);
  const buildApp = place(roots.build, workdirOf(build), '.');
  // `npm ci` in the image; here the repository's node_modules stand in for it.
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(buildApp, 'node_modules'), 'dir');
  // The build stage's RUNs after `npm ci` (which the symlink stands in for), as written.
  for (const step of instructions(build, 'RUN').filter((r) => !/^npm ci\b/.test(r))) {
    const ran = await run('sh', ['-c', step.replace(/\\\n/g, ' ')], buildApp, 240_000);
    t.equal(ran.code, 0, `build: \`${step}\` succeeds on what the build stage copies ${ran.stdout.slice(0, 2000)}${ran.stderr.slice(0, 2000)}`);
  }

  await replayCopies(runtime, roots.runtime, roots);
  const app = place(roots.runtime, workdirOf(runtime), '.');
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  const [node, entry] = execForm(runtime, 'ENTRYPOINT');
  t.equal(node, 'node', 'the entry point is node');
  const help = await run(process.execPath, [entry!, '--help'], app);
  t.equal(help.code, 0, `${entry} --help exits 0 ${help.stderr}`);
  t.match(help.stdout, /serve/, 'and lists the serve verb');
  // Only what `serve` needs is in the image; the dev-only verbs say how to get them.
  for (const absent of ['dist/local-cluster', 'dist/cmd/local', 'dist/test']) t.notOk(await stat(path.join(app, absent)).catch(() => undefined), `no ${absent} in the image`);
  const verbs = ['local', 'local-cluster'];
  const devOnlyRuns = await Promise.all(verbs.map((verb) => run(process.execPath, [entry!, verb, '--port', '0'], app)));
  for (const [i, verb] of verbs.entries()) {
    const devOnly = devOnlyRuns[i]!;
    t.equal(devOnly.code, 1, `${verb} exits 1 in the image`);
    t.match(devOnly.stderr, /^k8s-job-manager: \S+ needs development pieces this installation lacks \(.+\): run it from a source checkout after `npm ci`[^\n]*\n$/, `${verb}: one line saying how to get it: ${devOnly.stderr}`);
  }

  const config = place(roots.runtime, '/', '/pygeoapi/local.config.yml');
  const check = await run(process.execPath, [entry!, 'check-config', config], app);
  t.equal(check.code, 0, `the image's default configuration passes check-config ${check.stdout}${check.stderr}`);
  // `serve` checks its configuration in a worker thread (lib/config/load-in-worker.ts): the built worker runs, and a broken file is its problems.
  const broken = path.join(dir, 'broken.yml');
  await writeFile(broken, 'server: {}\nresources: 5\n');
  const refused = await run(process.execPath, [entry!, 'serve', '--config', broken], app);
  t.equal(refused.code, 1, 'serve refuses a broken configuration');
  t.match(refused.stderr, /^k8s-job-manager: invalid configuration \(3 problems\):\n(?: {2}- [^\n]+\n){3}$/, `the problems, one line each, no stack: ${refused.stderr}`);

  // Only production dependencies are installed in the image: the compiled code may import nothing else.
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  const imported = new Set<string>();
  for (const file of (await filesUnder(path.join(app, 'dist'))).filter((f) => f.endsWith('.js'))) {
    const code = await readFile(file, 'utf8');
    for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"./][^'"]*)['"]/g)) {
      const spec = m[1]!;
      if (builtins.has(spec) || spec.startsWith('node:')) continue;
      imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  t.ok(imported.size > 5, `the compiled code imports packages (${[...imported].sort().join(', ')})`);
  t.same([...imported].filter((p) => !(p in pkg.dependencies)).sort(), [], 'every imported package is a production dependency');
});
