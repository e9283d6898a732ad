// `quittance ca init`: a new root CA in a data directory. The key is generated
// here, encrypted at once and never written in the clear.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { encryptPrivateKey, generateKeyPair, writeKeyFile, type KeyAlgorithmName } from '../crypto/index.ts';
import { hashToken, newAdminToken } from '../http/admin-auth.ts';
import { createRootCa } from '../protocol/x509/index.ts';
import { CaConfig } from './config.ts';
import { caPaths, isInitialized, writeCaConfig } from './data-dir.ts';
import { wholeSeconds } from './x509-authority.ts';

export const MIN_PASSPHRASE = 8;

export type InitCaOptions = {
  passphrase: string;
  name?: string;
  alg?: KeyAlgorithmName;
  validityDays?: number;
  config?: Partial<CaConfig>;
  now?: Date;
};

export type InitializedCa = { certPem: string; adminToken: string; paths: ReturnType<typeof caPaths> };

export async function initCa(dir: string, opts: InitCaOptions): Promise<InitializedCa> {
  if (isInitialized(dir)) throw new Error(`${dir} already holds a CA; refusing to overwrite it`);
  if (opts.passphrase.length < MIN_PASSPHRASE) throw new Error(`the CA key passphrase must have at least ${MIN_PASSPHRASE} characters`);
  // Everything is checked before the first file is written: a refused init
  // leaves no half-made CA behind.
  const adminToken = newAdminToken();
  const parsed = CaConfig.safeParse({
    name: opts.name ?? 'Quittance Root CA',
    adminTokenHashes: [hashToken(adminToken)],
    ...opts.config,
  });
  if (!parsed.success) {
    throw new Error(`invalid CA settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const paths = caPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const keys = await generateKeyPair(opts.alg ?? 'Ed25519');
  const now = wholeSeconds(opts.now ?? new Date());
  const root = await createRootCa({
    keys,
    commonName: opts.name ?? 'Quittance Root CA',
    organization: 'Quittance',
    notBefore: now,
    notAfter: new Date(now.getTime() + (opts.validityDays ?? 3650) * 86_400_000),
    serial: new Uint8Array(randomBytes(16)),
  });
  await writeKeyFile(paths.key, await encryptPrivateKey(keys.privateKey, opts.passphrase));
  await writeFile(paths.cert, root.pem, { mode: 0o644 });

  await writeCaConfig(dir, parsed.data);
  return { certPem: root.pem, adminToken, paths };
}
