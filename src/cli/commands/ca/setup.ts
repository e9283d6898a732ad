// `quittance ca init` and `quittance ca serve`.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createApp } from '../../../ca/app.ts';
import { MIN_PASSPHRASE, initCa } from '../../../ca/init.ts';
import { isInitialized } from '../../../ca/data-dir.ts';
import { tlsServerOptions } from '../../../http/tls.ts';
import { fingerprintSha256, formatFingerprint } from '../../../protocol/x509/index.ts';
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import { listenAddress, listenOptions, serveUntilStopped, serverLogger } from '../../serve.ts';
import * as S from './shared.ts';

export const init: Command = {
  name: 'init',
  summary: 'create a new root CA (encrypted key, self-signed certificate, config, operator token)',
  options: {
    data: S.DATA,
    name: { type: 'string', description: 'common name of the root certificate (default "Quittance Root CA")', valueName: 'NAME' },
    alg: { type: 'string', description: 'key algorithm: ed25519 (default) or p256', valueName: 'ALG' },
    'validity-days': { type: 'string', description: 'root certificate lifetime in days (default 3650)', valueName: 'N' },
    'cert-days': { type: 'string', description: 'lifetime of issued certificates in days (default 365)', valueName: 'N' },
    'auto-approve': { type: 'boolean', description: 'DEMO ONLY: issue certificates at registration without an operator' },
    db: S.DB,
  },
  details: `Writes DIR/ca-key.pem (PKCS#8, PBES2/PBKDF2-SHA256 600,000 iterations, AES-256-CBC),
DIR/ca-cert.pem (give this to every relying party) and DIR/ca.json. The key passphrase
comes from QUITTANCE_PASSPHRASE or a prompt. The operator token is printed once; only its
SHA-256 is stored.`,
  async run({ values }, io) {
    const dir = resolve(requireString(values, 'data'));
    const config: Record<string, unknown> = {};
    if (values['auto-approve']) config.autoApprove = true;
    if (values['cert-days'] !== undefined) config.certificateLifetimeDays = S.positiveInt(values['cert-days'], 'cert-days', 365);
    if (typeof values.db === 'string') config.db = values.db;
    const validityDays = S.positiveInt(values['validity-days'], 'validity-days', 3650, 36500);
    const alg = S.keyAlg(values.alg);
    if (isInitialized(dir)) return S.fail(io, false, 'CLI_CA_EXISTS', `${dir} already holds a CA; refusing to overwrite it`);
    const pass = await S.passphrase(io, 'New CA key passphrase: ');
    if (pass.length < MIN_PASSPHRASE) return S.fail(io, false, 'CLI_PASSPHRASE_TOO_SHORT', `the CA key passphrase must have at least ${MIN_PASSPHRASE} characters`);
    const ca = await initCa(dir, {
      passphrase: pass,
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      alg,
      validityDays,
      config,
    });
    const fp = formatFingerprint(await fingerprintSha256(S.derOf(ca.certPem)));
    io.out(
      `CA created in ${dir}\n` +
        `  certificate: ${ca.paths.cert}\n  SHA-256 fingerprint: ${fp}\n` +
        `  operator token (shown once, keep it secret): ${ca.adminToken}\n`,
    );
    return EXIT.OK;
  },
};

export const serve: Command = {
  name: 'serve',
  summary: 'run the CA server (registration, certificates, CRL, operator API)',
  options: {
    data: S.DATA,
    ...listenOptions(7001),
    db: S.DB,
    'auto-approve': { type: 'boolean', description: 'DEMO ONLY: issue certificates at registration without an operator' },
    'tls-cert': { type: 'string', description: 'serve HTTPS with this certificate chain (PEM, leaf first)', valueName: 'FILE' },
    'tls-key': { type: 'string', description: 'encrypted private key for --tls-cert (same passphrase)', valueName: 'FILE' },
  },
  details: `Prints one JSON line {"event":"ready","party":"ca","url":…} when it listens; stops on SIGINT/SIGTERM.
With --tls-cert/--tls-key the server speaks HTTPS and accepts operator certificates
(role operator, issued by this CA, not revoked) over mutual TLS on the admin endpoints,
besides the bearer token. Make the server certificate with
  quittance ca issue --data DIR --role ca --name "Quittance CA" --dns localhost --out tls/`,
  async run({ values }, io) {
    const address = listenAddress(values, 7001);
    const tlsCert = values['tls-cert'];
    const tlsKey = values['tls-key'];
    if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
    const tls = typeof tlsCert === 'string' && typeof tlsKey === 'string' ? { cert: await readFile(tlsCert, 'utf8'), key: await readFile(tlsKey, 'utf8') } : undefined;
    const pass = await S.passphrase(io, 'CA key passphrase: ');
    const overrides = values['auto-approve'] ? { configOverrides: { autoApprove: true } } : {};
    return S.withCa(values, { passphrase: pass, ...overrides }, async (ca) => {
      const https = tls ? tlsServerOptions({ certPem: tls.cert, keyPem: tls.key, passphrase: pass, clientCaPem: ca.caCertPem }) : undefined;
      const app = createApp(ca.deps, { logger: serverLogger(io), ...(https ? { https } : {}) });
      await serveUntilStopped(app, io, 'ca', address);
      return EXIT.OK;
    });
  },
};

