#!/usr/bin/env node
/**
 * Regenerates local-cluster/api-server/protobuf/schema.json: the field
 * numbers, names and types of the Kubernetes protobuf messages kubectl sends
 * for the kinds local-cluster serves (only the messages those kinds reach).
 * Input: checkouts of kubernetes/api and kubernetes/apimachinery.
 *
 *   node scripts/local-cluster-protobuf-schema.mjs ../api ../apimachinery
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [apiDir, machineryDir] = process.argv.slice(2);
if (!apiDir || !machineryDir) {
  console.error('usage: local-cluster-protobuf-schema.mjs <kubernetes/api dir> <kubernetes/apimachinery dir>');
  process.exit(2);
}

/** Root kinds: `apiVersion kind` → the proto package's group-version of the API. */
const GROUPS = {
  core: '', apps: 'apps', batch: 'batch', policy: 'policy', rbac: 'rbac.authorization.k8s.io',
  coordination: 'coordination.k8s.io', admissionregistration: 'admissionregistration.k8s.io',
  authentication: 'authentication.k8s.io', authorization: 'authorization.k8s.io',
};
const ROOTS = [
  'core/v1 Namespace', 'core/v1 Pod', 'core/v1 Event', 'core/v1 Secret', 'core/v1 ConfigMap', 'core/v1 ServiceAccount',
  'core/v1 Service', 'core/v1 PersistentVolumeClaim', 'batch/v1 Job', 'coordination/v1 Lease',
  'admissionregistration/v1 MutatingWebhookConfiguration', 'rbac/v1 Role', 'rbac/v1 RoleBinding', 'rbac/v1 ClusterRole',
  'rbac/v1 ClusterRoleBinding', 'apps/v1 Deployment', 'policy/v1 PodDisruptionBudget', 'authentication/v1 TokenRequest',
  'authentication/v1 TokenReview', 'authentication/v1 SelfSubjectReview', 'authentication/v1beta1 SelfSubjectReview',
  'authorization/v1 SubjectAccessReview', 'authorization/v1 SelfSubjectAccessReview', 'authorization/v1 LocalSubjectAccessReview',
  'authorization/v1 SelfSubjectRulesReview', 'meta/v1 DeleteOptions',
];

function protoFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? protoFiles(full) : name.endsWith('.proto') ? [full] : [];
  });
}

const messages = new Map();
for (const file of [...protoFiles(apiDir), ...protoFiles(machineryDir)]) {
  const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
  const pkg = /^package\s+([\w.]+);/m.exec(text)?.[1];
  if (!pkg) continue;
  for (const match of text.matchAll(/^message\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    const fields = [];
    for (const f of match[2].matchAll(/^\s*(optional|repeated)?\s*(map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)/gm)) {
      const resolve = (raw) => { const t = raw.replace(/^\./, ''); return (/^(string|bool|bytes|int32|int64|uint32|uint64|double|float|sint32|sint64|fixed32|fixed64)$/.test(t) ? t : t.includes('.') ? t : `${pkg}.${t}`); };
      const type = f[3] ? `map<${resolve(f[3])},${resolve(f[4])}>` : resolve(f[2]);
      fields.push([Number(f[6]), f[5], type, f[1] === 'repeated' ? 1 : 0]);
    }
    messages.set(`${pkg}.${match[1]}`, fields);
  }
}

const rootMessages = {};
const wanted = new Set();
for (const root of ROOTS) {
  const [pv, kind] = root.split(' ');
  const [group, version] = pv.split('/');
  const fq = group === 'meta' ? `k8s.io.apimachinery.pkg.apis.meta.v1.${kind}` : `k8s.io.api.${group}.${version}.${kind}`;
  if (!messages.has(fq)) throw new Error(`no message ${fq}`);
  if (group !== 'meta') rootMessages[`${GROUPS[group] ? `${GROUPS[group]}/` : ''}${version}/${kind}`] = fq;
  wanted.add(fq);
}
const queue = [...wanted];
while (queue.length) {
  for (const [, , type] of messages.get(queue.pop())) {
    for (const t of type.startsWith('map<') ? type.slice(4, -1).split(',') : [type]) {
      if (messages.has(t) && !wanted.has(t)) {
        wanted.add(t);
        queue.push(t);
      }
    }
  }
}
const shorten = (fq) => fq.replace(/^k8s\.io\.api\./, '').replace(/^k8s\.io\.apimachinery\.pkg\.(apis\.)?/, '');
const out = { roots: Object.fromEntries(Object.entries(rootMessages).map(([k, v]) => [k, shorten(v)])), messages: {} };
for (const fq of [...wanted].sort()) {
  out.messages[shorten(fq)] = messages.get(fq).map(([n, name, type, rep]) => [n, name, type.replace(/[\w.]+/g, (t) => (messages.has(t) ? shorten(t) : t)), rep]);
}
const target = new URL('../local-cluster/api-server/protobuf/schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(out)}\n`);
console.log(`${Object.keys(out.messages).length} messages, ${Object.keys(out.roots).length} root kinds → ${target.pathname}`);
