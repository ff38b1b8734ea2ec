#!/usr/bin/env node
/**
 * The program of every chaos job container: `node job.mjs <init|main> [spec-json]`.
 * The spec comes from PYGEOAPI_K8S_MANAGER_INPUTS (input `spec`, injected by
 * the API or, for kubectl-made Jobs, by the webhook), else from the argument.
 * It prints job-output.mjs's bytes for its attempt, paced over `spec.ms`, exits
 * with the planned code, and leaves a receipt (length, SHA-256, how it ended)
 * in the run's truth folder, so the chaos run knows what each container
 * instance printed even when its pod, its Job and its node logs are gone.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { header, bodySlice, footer, plan, sigtermTrailer } from './job-output.mjs';

const role = process.argv[2];
if (role !== 'init' && role !== 'main') {
  process.stderr.write('usage: job.mjs <init|main> [spec-json]\n');
  process.exit(2);
}
let spec;
let source = 'inputs';
try {
  spec = JSON.parse(process.env.PYGEOAPI_K8S_MANAGER_INPUTS ?? '{}').spec;
} catch {
  spec = undefined;
}
if (!spec && process.argv[3]) {
  spec = JSON.parse(process.argv[3]);
  source = 'argument';
}
if (!spec || typeof spec.key !== 'string' || typeof spec.truth !== 'string') {
  process.stderr.write('job.mjs: no chaos spec in PYGEOAPI_K8S_MANAGER_INPUTS or the argument\n');
  process.exit(2);
}

const pod = process.env.HOSTNAME ?? 'unknown-pod';
const dir = path.join(spec.truth, spec.key);
mkdirSync(dir, { recursive: true });
// Attempts count per job and container across pods and restarts (they run one after another).
const counter = path.join(dir, `${role}.attempts`);
let attempt = 1;
try {
  attempt = Number(readFileSync(counter, 'utf8')) + 1;
} catch {
  // First attempt.
}
writeFileSync(counter, String(attempt));

const p = plan(spec, role, attempt);
const hash = createHash('sha256');
let bytes = 0;
let written = 0;
let terminated = false;
let wake = () => undefined;
process.once('SIGTERM', () => {
  terminated = true;
  wake();
});

function print(chunk) {
  hash.update(chunk);
  bytes += chunk.length;
  // stdout is a pipe: on Linux Node writes pipes synchronously, so the bytes are out when this returns.
  return new Promise((resolve) => process.stdout.write(chunk, () => resolve()));
}

function pause(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

function finish(exitCode, termAfter) {
  const receipt = { key: spec.key, role, attempt, pod, bytes, sha256: hash.digest('hex'), termAfter, exitCode, source };
  writeFileSync(path.join(dir, `${pod}.${role}.${attempt}.json`), JSON.stringify(receipt));
  process.exit(exitCode);
}

await print(header(spec, role, attempt, pod));
const chunkBytes = Math.max(16 * 1024, Math.ceil(p.bytes / 40));
const chunks = Math.max(1, Math.ceil(p.bytes / chunkBytes));
const delay = (spec.ms ?? 0) / chunks;
for (let i = 0; i < chunks; i++) {
  if (delay > 0) await pause(delay);
  if (terminated) {
    await print(sigtermTrailer(written));
    finish(143, written);
  }
  const end = Math.min(p.bytes, written + chunkBytes);
  if (end > written) await print(bodySlice(spec, role, attempt, written, end));
  written = end;
}
await print(footer(spec, role, attempt));
finish(p.exitCode, null);
