#!/usr/bin/env node
/**
 * Writes NOTICE: the project's own notice plus every production dependency
 * (what `npm ci --omit=dev` installs, and so what the container image ships)
 * with its version, licence and source, and the NOTICE files those
 * dependencies carry (Apache-2.0 §4(d) asks redistributors to pass them on).
 *
 *   node scripts/generate-notice.mjs            rewrite NOTICE
 *   node scripts/generate-notice.mjs --check    exit 1 if NOTICE is out of date
 *   --notice FILE                               another file than ./NOTICE
 *
 * Which packages are production ones comes from package-lock.json (entries
 * not marked `dev`); their licences and sources come from their package.json
 * in node_modules. The output depends on nothing else (no dates), so --check
 * is stable across machines with the same lockfile.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The name a lockfile path installs: the part after the last node_modules/. */
function nameOfLockPath(lockPath) {
  return lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** SPDX expression from package.json: `license` (string or legacy object) or the legacy `licenses` list. */
function licenceOfManifest(manifest) {
  if (typeof manifest.license === 'string') return manifest.license;
  if (manifest.license && typeof manifest.license.type === 'string') return manifest.license.type;
  if (Array.isArray(manifest.licenses)) {
    const types = manifest.licenses.map((l) => (typeof l === 'string' ? l : l?.type)).filter(Boolean);
    if (types.length === 1) return types[0];
    if (types.length > 1) return `(${types.join(' OR ')})`;
  }
  return undefined;
}

const README_LICENCES = [
  [/\bMIT\b/, 'MIT'],
  [/\bISC\b/, 'ISC'],
  [/Apache License,? Version 2\.0|\bApache-2\.0\b/i, 'Apache-2.0'],
  [/\bBSD-3-Clause\b/, 'BSD-3-Clause'],
  [/\bBSD-2-Clause\b/, 'BSD-2-Clause'],
];

/** For packages whose package.json names no licence: the "License" section of their README. */
function licenceOfReadme(dir) {
  const readme = readdirSync(dir).find((f) => /^readme(\.md|\.markdown|\.txt)?$/i.test(f));
  if (!readme) return undefined;
  const lines = readFileSync(path.join(dir, readme), 'utf8').split(/\r?\n/);
  const start = lines.findIndex((line) => /^#+\s*licen[cs]e\b/i.test(line.trim()));
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && /^#/.test(line.trim()));
  const section = lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
  const match = README_LICENCES.find(([pattern]) => pattern.test(section));
  return match ? `${match[1]} (stated in its README)` : undefined;
}

function sourceOf(manifest) {
  const repository = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  const raw = repository ?? manifest.homepage;
  if (typeof raw !== 'string' || raw === '') return '';
  if (/^[\w.-]+\/[\w.-]+$/.test(raw)) return `https://github.com/${raw}`;
  return raw
    .replace(/^git\+/, '')
    .replace(/^git:\/\//, 'https://')
    .replace(/^ssh:\/\/git@/, 'https://')
    .replace(/^git@([^:]+):/, 'https://$1/')
    .replace(/^github:/, 'https://github.com/')
    .replace(/\.git$/, '')
    .replace(/#.*$/, '');
}

const NOTICE_FILES = /^notice(\.md|\.txt)?$/i;

function productionPackages(projectRoot) {
  const lock = readJson(path.join(projectRoot, 'package-lock.json'));
  const seen = new Map();
  for (const [lockPath, entry] of Object.entries(lock.packages ?? {})) {
    if (lockPath === '' || entry.dev || entry.link) continue;
    const name = entry.name ?? nameOfLockPath(lockPath);
    const key = `${name}@${entry.version}`;
    if (seen.has(key)) continue;
    const dir = path.join(projectRoot, lockPath);
    const manifest = existsSync(path.join(dir, 'package.json')) ? readJson(path.join(dir, 'package.json')) : {};
    const installed = existsSync(dir);
    const licence = licenceOfManifest(manifest) ?? entry.license ?? (installed ? licenceOfReadme(dir) : undefined) ?? 'UNKNOWN';
    const notices = installed
      ? readdirSync(dir)
          .filter((f) => NOTICE_FILES.test(f))
          .sort()
          .map((f) => ({ file: f, text: readFileSync(path.join(dir, f), 'utf8').trimEnd() }))
      : [];
    seen.set(key, { name, version: entry.version, licence, source: sourceOf(manifest), notices });
  }
  return [...seen.values()].sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name < b.name ? -1 : 1));
}

function renderNotice(projectRoot) {
  const project = readJson(path.join(projectRoot, 'package.json'));
  const packages = productionPackages(projectRoot);
  const counts = new Map();
  for (const p of packages) counts.set(p.licence, (counts.get(p.licence) ?? 0) + 1);
  const summary = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out = [
    project.name,
    'Copyright the k8s-job-manager contributors.',
    '',
    `This product is licensed under the ${project.license === 'Apache-2.0' ? 'Apache License, Version 2.0' : project.license} (see LICENSE).`,
    '',
    'It is distributed (in its container image, and with `npm ci --omit=dev`)',
    'together with the following third-party packages, each under its own',
    'licence. This file is generated by `npm run notice` from package-lock.json',
    'and node_modules; do not edit it by hand.',
    '',
    `Licences of the ${packages.length} packages:`,
    ...summary.map(([licence, n]) => `  ${licence}: ${n}`),
    '',
    'Packages (name, version, licence, source):',
    ...packages.map((p) => `  ${p.name} ${p.version}  ${p.licence}${p.source ? `  ${p.source}` : ''}`),
  ];
  const withNotices = packages.filter((p) => p.notices.length > 0);
  if (withNotices.length > 0) {
    out.push('', 'Notices shipped by these packages, reproduced as they require:');
    for (const p of withNotices) {
      for (const notice of p.notices) out.push('', `----- ${p.name} ${p.version}: ${notice.file} -----`, notice.text);
    }
  }
  return `${out.join('\n')}\n`;
}

function main() {
  const { values } = parseArgs({ options: { check: { type: 'boolean' }, notice: { type: 'string' } } });
  const file = path.resolve(values.notice ?? path.join(root, 'NOTICE'));
  const wanted = renderNotice(root);
  if (values.check) {
    const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (current !== wanted) {
      process.stderr.write(`${path.relative(process.cwd(), file) || file} is out of date: run npm run notice\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(file, wanted);
  process.stdout.write(`wrote ${file}\n`);
}

main();
