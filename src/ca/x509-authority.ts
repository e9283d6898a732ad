// The Authority backed by a real CA certificate and key, on the protocol
// core's X.509 issuing helpers.
import { createHash } from 'node:crypto';
import {
  certificateToPem,
  fingerprintSha256,
  issueCrl,
  issueLeaf,
  parseCertificatePem,
  readCsrPublicKey,
  serialFromBytes,
  type Issuer,
} from '../protocol/x509/index.ts';
import type { Authority, CrlEntry, IssueRequest } from './authority.ts';

export function createX509Authority(caCertPem: string, caPrivateKey: CryptoKey): Authority {
  const parsed = parseCertificatePem(caCertPem);
  if (!parsed.ok) throw new Error(`CA certificate: ${parsed.message}`);
  const caCert = parsed.value;
  const issuer: Issuer = { certificate: new Uint8Array(caCert.rawData), privateKey: caPrivateKey };
  const chainPem = [certificateToPem(issuer.certificate)];

  return {
    chainPem,

    async inspectCsr(csrPem) {
      const spki = await readCsrPublicKey(csrPem);
      if (!spki.ok) {
        return spki.code === 'PROTO_CERT_ALG_NOT_ALLOWED'
          ? { ok: false, code: 'CA_CSR_KEY_NOT_ALLOWED', message: `${spki.message} (Ed25519 or P-256 keys only)` }
          : { ok: false, code: 'CA_CSR_INVALID', message: spki.message };
      }
      return { ok: true, value: { spki: spki.value, spkiSha256: createHash('sha256').update(spki.value).digest('hex') } };
    },

    async issue(req: IssueRequest) {
      const { notBefore, notAfter } = withinIssuer(req.notBefore, req.notAfter, caCert.notBefore, caCert.notAfter);
      const cert = await issueLeaf({
        issuer,
        subjectPublicKey: req.subjectPublicKey,
        ...(req.dnsNames ? { dnsNames: req.dnsNames } : {}),
        partyId: req.partyId,
        displayName: req.displayName,
        role: req.role,
        notBefore,
        notAfter,
        serial: req.serial,
      });
      return { pem: cert.pem, fingerprint: await fingerprintSha256(cert.der), serialHex: serialFromBytes(req.serial), notBefore, notAfter };
    },

    async makeCrl({ number, thisUpdate, nextUpdate, entries }) {
      const crl = await issueCrl({
        issuer,
        crlNumber: number,
        thisUpdate: wholeSeconds(thisUpdate),
        nextUpdate: wholeSeconds(nextUpdate),
        entries: entries.map((e: CrlEntry) => ({ serial: e.serialHex, revocationDate: wholeSeconds(e.revokedAt), reason: e.reason })),
      });
      return crl.der;
    },
  };
}

/** X.509 times carry whole seconds; round down so nothing is claimed that was not decided. */
export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** A certificate outliving its issuer could never validate: clamp to the CA's own validity. */
function withinIssuer(nb: Date, na: Date, caNb: Date, caNa: Date) {
  const notBefore = wholeSeconds(nb < caNb ? caNb : nb);
  const notAfter = wholeSeconds(na > caNa ? caNa : na);
  return { notBefore, notAfter };
}
