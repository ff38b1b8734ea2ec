/**
 * What a restarted cluster must find again in its state folder, beside the
 * store's journal: the cluster CA (clients keep trusting the server), the
 * ServiceAccount token signing key and the administrator's token (issued
 * tokens and written kubeconfigs stay valid). Each file is written once,
 * atomically (temporary file, fsync, rename), readable by the owner only.
 *
 * Layout: `<stateDir>/store/` (journal.ts), `<stateDir>/pki/`,
 * `<stateDir>/kubelet/` (pods' logs, kept as a node keeps /var/log/pods).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { JWK } from 'jose';
import type { TokenSecrets } from './auth/tokens.js';

export interface StatePaths {
  store: string;
  pki: string;
  kubelet: string;
}

export function statePaths(stateDir: string): StatePaths {
  return { store: path.join(stateDir, 'store'), pki: path.join(stateDir, 'pki'), kubelet: path.join(stateDir, 'kubelet') };
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

/** The value kept in `file`, or `create()`'s, written there first. */
async function keep<T>(file: string, create: () => T | Promise<T>, encode: (value: T) => string, decode: (text: string) => T): Promise<T> {
  if (existsSync(file)) return decode(await readFile(file, 'utf8'));
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = await create();
  await writeAtomically(file, encode(value));
  return value;
}

export function keepTokenSecrets(pkiDir: string, create: () => Promise<TokenSecrets>): Promise<TokenSecrets> {
  return keep(
    path.join(pkiDir, 'service-account-and-admin.json'),
    create,
    (secrets) => JSON.stringify(secrets),
    (text) => {
      const parsed = JSON.parse(text) as { adminToken?: unknown; signingKey?: unknown };
      if (typeof parsed.adminToken !== 'string' || typeof parsed.signingKey !== 'object' || parsed.signingKey === null) {
        throw new Error(`${pkiDir}/service-account-and-admin.json is not a local-cluster credentials file`);
      }
      return { adminToken: parsed.adminToken, signingKey: parsed.signingKey as JWK };
    },
  );
}

export interface KeptCa {
  caPem: string;
  caKeyPem: string;
}

export function keepCa(pkiDir: string, create: () => KeptCa): Promise<KeptCa> {
  return keep(
    path.join(pkiDir, 'ca.json'),
    create,
    (ca) => JSON.stringify(ca),
    (text) => {
      const parsed = JSON.parse(text) as Partial<KeptCa>;
      if (typeof parsed.caPem !== 'string' || typeof parsed.caKeyPem !== 'string') throw new Error(`${pkiDir}/ca.json is not a local-cluster CA file`);
      return { caPem: parsed.caPem, caKeyPem: parsed.caKeyPem };
    },
  );
}
