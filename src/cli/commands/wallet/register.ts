// `quittance wallet register`: identity key → CSR → the CA; the certificate is
// checked (our key, chain to the root, role client, not revoked) before it is kept.
import { readFile } from 'node:fs/promises';
import {
  readIdentity,
  resumeRegistration,
  submitRegistration,
  waitForCertificate,
  walletStatus,
  type OpenedWallet,
  type RegisterCode,
} from '../../../wallet/index.ts';
import type { Result } from '../../../protocol/result.ts';
import type { WalletIdentityTable } from '../../../wallet/db.ts';
import { EXIT, UsageError, integerOption, requireString, type Command, type Io } from '../../command.ts';
import * as S from './shared.ts';

const POLL_MS = 2000;


async function report(io: Io, w: OpenedWallet, json: boolean, r: Result<WalletIdentityTable, RegisterCode>): Promise<number> {
  if (!r.ok) return S.fail(io, json, r);
  const s = await walletStatus(w);
  const i = s.identity!;
  if (json) {
    S.printResult(io, true, s, '');
    return EXIT.OK;
  }
  if (i.status === 'approved') {
    io.out(
      `registered as "${i.displayName}" (party id ${i.partyId}, role client) with ${i.caUrl}\n` +
        `  certificate SHA-256: ${i.fingerprint}\n  valid until: ${i.notAfter}\n` +
        `  CA root SHA-256: ${i.caFingerprint} (compare it with the fingerprint the CA publishes)\n`,
    );
  } else {
    io.out(
      `registration ${i.registrationId} is pending approval by the CA operator\n` +
        `  fetch the certificate later with: quittance wallet register --data ${w.paths.dir} --resume [--wait]\n`,
    );
  }
  return EXIT.OK;
}

export const register: Command = {
  name: 'register',
  summary: 'obtain a client certificate from the CA (identity key, CSR, approval)',
  options: {
    data: S.DATA,
    ca: { type: 'string', description: 'base URL of the CA (e.g. http://127.0.0.1:7001)', valueName: 'URL' },
    name: { type: 'string', description: 'display name the certificate will show (your pseudonym)', valueName: 'NAME' },
    'real-name': { type: 'string', description: 'your real name, for the CA only (default: NAME)', valueName: 'TEXT' },
    address: { type: 'string', description: 'postal address, for the CA only', valueName: 'TEXT' },
    email: { type: 'string', description: 'e-mail address, for the CA only', valueName: 'ADDR' },
    'ca-cert': { type: 'string', description: 'trust this CA root (PEM) instead of the one the CA serves', valueName: 'FILE' },
    wait: { type: 'boolean', description: 'wait for the operator to approve, then fetch and check the certificate' },
    timeout: { type: 'string', description: 'with --wait: give up after this many seconds (default 300)', valueName: 'SECONDS' },
    resume: { type: 'boolean', description: 'fetch the certificate of the registration already submitted' },
    json: S.JSON_OUT,
  },
  details: `Generates the identity key (Ed25519, DIR/identity-key.pem, encrypted with the wallet
passphrase), sends {realIdentity, role client, displayName, CSR} to the CA and stores the
registration id. The real identity stays with the CA; the certificate carries only the
display name and a party id. Without --wait (and with a CA that does not approve at once)
it prints the registration id; --resume (or the same register command again) fetches the
certificate later. A certificate is kept only if it certifies this wallet's key, names the
requested display name, chains to the CA root with role client and is not revoked (CRL
from the CA). Without --ca-cert the root served by the CA is trusted on first use and
its fingerprint is printed for comparison.`,
  async run({ values }, io) {
    const json = Boolean(values.json);
    const timeoutMs = (integerOption(values.timeout, 'timeout', 1, 86_400) ?? 300) * 1000;
    const deps = { now: S.now };
    const wait = {
      timeoutMs,
      pollMs: POLL_MS,
      onProgress: (p: { registrationId: string; elapsedSeconds: number }) =>
        io.err(`waiting for the CA to approve registration ${p.registrationId} (${p.elapsedSeconds} s of ${timeoutMs / 1000} s)\n`),
    };
    if (values.resume) {
      for (const o of ['ca', 'name', 'real-name', 'address', 'email', 'ca-cert']) {
        if (values[o] !== undefined) throw new UsageError(`--${o} does not go with --resume (the registration is already submitted)`);
      }
      return S.withWallet(values, io, async (w) => {
        const r = values.wait ? await waitForCertificate(w, deps, wait) : await resumeRegistration(w, deps);
        return report(io, w, json, r);
      });
    }
    const caUrl = requireString(values, 'ca');
    try {
      const u = new URL(caUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      throw new UsageError(`--ca must be an http:// or https:// URL, got ${caUrl}`);
    }
    const name = requireString(values, 'name');
    const caRootPem = typeof values['ca-cert'] === 'string' ? await readFile(values['ca-cert'], 'utf8') : undefined;
    return S.withWallet(values, io, async (w) => {
      const existing = await readIdentity(w);
      // Re-running the same register resumes without asking for the passphrase.
      const pass = existing && existing.status !== 'rejected' ? undefined : await S.passphrase(io, 'Wallet passphrase: ');
      let r = await submitRegistration(
        w,
        {
          caUrl,
          displayName: name,
          realIdentity: {
            name: typeof values['real-name'] === 'string' ? values['real-name'] : name,
            postalAddress: typeof values.address === 'string' ? values.address : '(not given)',
            email: typeof values.email === 'string' ? values.email : 'not-given@example.invalid',
          },
          passphrase: pass,
          ...(caRootPem !== undefined ? { caRootPem } : {}),
        },
        deps,
      );
      if (r.ok && r.value.status === 'pending' && values.wait) r = await waitForCertificate(w, deps, wait);
      return report(io, w, json, r);
    });
  },
};
