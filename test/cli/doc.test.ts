// `quittance doc sign | verify`: a document signed with a CA-issued key is
// checked offline by anyone holding the CA certificate (and the CRL), every
// kind of tampering or wrong policy is refused with its code, and an
// independent JOSE library (jose) verifies the same evidence.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as jose from 'jose';
import type { CertificateView } from '../../src/protocol/messages/ca.ts';
import { INVOICE, MERCHANT_NAME, cli, initCaDir, issue, openssl, tempDir } from './helpers.ts';

const INVOICE_TYP = 'quittance.invoice.v1+json';

type Jws = { payload: string; signatures: { protected: string; signature: string }[] };
type VerifyJson = {
  valid: boolean;
  typ?: string;
  code?: string;
  revocationChecked?: boolean;
  documentHash?: string;
  signers?: { kind: string; role?: string; displayName?: string; partyId?: string }[];
  payload?: unknown;
};

describe('doc sign / doc verify', () => {
  const tmp = tempDir();
  const p = (name: string) => join(tmp.dir, name);
  const data = p('ca');
  const caCert = join(data, 'ca-cert.pem');
  const shop = p('shop');
  const client = p('client');
  const inv = p('inv.jws');
  const freshCrl = p('crl-fresh.pem');
  let merchant: { serial: string; partyId: string };
  let shopper: { serial: string; partyId: string };

  before(async () => {
    await initCaDir(data);
    merchant = await issue(data, 'merchant', MERCHANT_NAME, shop, ['--party-id', 'tokyo-online']);
    shopper = await issue(data, 'client', 'hanako', client);
    const c = await cli(['ca', 'crl', '--data', data, '--out', freshCrl]);
    assert.equal(c.code, 0, c.err);
    const s = await cli(['doc', 'sign', '--key', join(shop, 'key.pem'), '--cert', join(shop, 'chain.pem'), '--typ', INVOICE_TYP, INVOICE, '--out', inv]);
    assert.equal(s.code, 0, s.err);
  });
  after(() => tmp.remove());

  function selfSignedCa(name: string, subject: string): string {
    const g = openssl(['req', '-x509', '-newkey', 'ed25519', '-nodes', '-keyout', p(`${name}.key`), '-subj', subject, '-days', '30', '-out', p(`${name}.pem`)]);
    assert.equal(g.status, 0, g.stderr);
    return p(`${name}.pem`);
  }

  const verify = (file: string, ...extra: string[]) => cli(['doc', 'verify', '--ca', caCert, file, ...extra], {});

  test('doc sign writes a general JWS with one signature and the chain in x5c', () => {
    const jws = JSON.parse(readFileSync(inv, 'utf8')) as Jws;
    assert.equal(jws.signatures.length, 1);
    const header = jose.decodeProtectedHeader(jws.signatures[0]!) as { alg: string; typ: string; x5c: string[] };
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, INVOICE_TYP);
    assert.equal(header.x5c.length, 2, 'leaf and CA');
    const payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as unknown;
    assert.deepEqual(payload, JSON.parse(readFileSync(INVOICE, 'utf8')));
  });

  test('doc sign without --out prints the JWS on stdout', async () => {
    const r = await cli(['doc', 'sign', '--key', join(shop, 'key.pem'), '--cert', join(shop, 'chain.pem'), '--typ', INVOICE_TYP, INVOICE]);
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as Jws).signatures.length, 1);
  });

  test('doc verify: valid, names the merchant, says revocation was NOT checked', async () => {
    const r = await verify(inv);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`^valid: ${escape(INVOICE_TYP)}$`, 'm'));
    assert.match(r.out, new RegExp(`signer 1: merchant "${MERCHANT_NAME}" \\(party tokyo-online\\)`));
    assert.match(r.out, /revocation: NOT checked/);
  });

  test('doc verify --crl (fresh CRL): revocation checked', async () => {
    const r = await verify(inv, '--crl', freshCrl);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^ {2}revocation: checked$/m);
    assert.doesNotMatch(r.out, /NOT checked/);
  });

  test('doc verify --json: valid, merchant signer, the payload', async () => {
    const r = await verify(inv, '--json', '--role', 'merchant');
    assert.equal(r.code, 0, r.out + r.err);
    const v = JSON.parse(r.out) as VerifyJson;
    assert.equal(v.valid, true);
    assert.equal(v.typ, INVOICE_TYP);
    assert.equal(v.revocationChecked, false);
    assert.equal(v.signers?.length, 1);
    assert.equal(v.signers?.[0]?.role, 'merchant');
    assert.equal(v.signers?.[0]?.displayName, MERCHANT_NAME);
    assert.equal(v.signers?.[0]?.partyId, merchant.partyId);
    assert.match(v.documentHash ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(v.payload, JSON.parse(readFileSync(INVOICE, 'utf8')));
  });

  test('--role client: PROTO_CERT_ROLE_MISMATCH, exit 1', async () => {
    const r = await verify(inv, '--role', 'client');
    assert.equal(r.code, 1);
    assert.match(r.out, /^invalid: PROTO_CERT_ROLE_MISMATCH: /m);
    const j = await verify(inv, '--role', 'client', '--json');
    assert.equal(j.code, 1);
    assert.deepEqual(pick(JSON.parse(j.out) as VerifyJson), { valid: false, code: 'PROTO_CERT_ROLE_MISMATCH' });
  });

  test('a flipped character in the payload: PROTO_JWS_SIGNATURE_INVALID, exit 1', async () => {
    const jws = JSON.parse(readFileSync(inv, 'utf8')) as Jws;
    // Change the amount, keeping valid base64url and valid JSON: only the signature can tell.
    const payload = Buffer.from(jws.payload, 'base64url').toString('utf8').replace('"JPY:4000"', '"JPY:4001"');
    const tampered = p('tampered.jws');
    writeFileSync(tampered, JSON.stringify({ ...jws, payload: Buffer.from(payload).toString('base64url') }));
    const r = await verify(tampered);
    assert.equal(r.code, 1);
    assert.match(r.out, /^invalid: PROTO_JWS_SIGNATURE_INVALID: /m);

    // One flipped base64url character anywhere in the payload.
    const i = Math.floor(jws.payload.length / 2);
    const flippedChar = jws.payload[i] === 'A' ? 'B' : 'A';
    const flipped = p('flipped.jws');
    writeFileSync(flipped, JSON.stringify({ ...jws, payload: jws.payload.slice(0, i) + flippedChar + jws.payload.slice(i + 1) }));
    const f = await verify(flipped, '--json');
    assert.equal(f.code, 1);
    assert.deepEqual(pick(JSON.parse(f.out) as VerifyJson), { valid: false, code: 'PROTO_JWS_SIGNATURE_INVALID' });
  });

  test("another CA's certificate as --ca: PROTO_CERT_UNTRUSTED_ROOT; an impostor with our CA's name: signature invalid", async () => {
    const otherCa = selfSignedCa('other-ca', '/O=Elsewhere/CN=Some Other Root');
    const r = await cli(['doc', 'verify', '--ca', otherCa, inv], {});
    assert.equal(r.code, 1);
    assert.match(r.out, /^invalid: PROTO_CERT_UNTRUSTED_ROOT: /m);
    // Same subject name as our root, another key: the name matches, the signature cannot.
    const impostor = selfSignedCa('impostor-ca', '/O=Quittance/CN=Quittance Root CA');
    const i = await cli(['doc', 'verify', '--ca', impostor, inv, '--json'], {});
    assert.equal(i.code, 1);
    assert.deepEqual(pick(JSON.parse(i.out) as VerifyJson), { valid: false, code: 'PROTO_CERT_SIGNATURE_INVALID' });
  });

  test('--typ quittance.receipt.v1+json: PROTO_JWS_TYP_MISMATCH', async () => {
    const r = await verify(inv, '--typ', 'quittance.receipt.v1+json');
    assert.equal(r.code, 1);
    assert.match(r.out, /^invalid: PROTO_JWS_TYP_MISMATCH: /m);
  });

  test("--at after the certificate's notAfter: PROTO_CERT_EXPIRED; just before it: valid", async () => {
    const listed = await cli(['ca', 'list', '--data', data, '--certificates', '--json'], {});
    const cert = (JSON.parse(listed.out) as { certificates: CertificateView[] }).certificates.find((c) => c.serial === merchant.serial);
    assert.ok(cert);
    const notAfter = new Date(cert.notAfter).getTime();
    const late = await verify(inv, '--at', new Date(notAfter + 86_400_000).toISOString());
    assert.equal(late.code, 1);
    assert.match(late.out, /^invalid: PROTO_CERT_EXPIRED: /m);
    const inTime = await verify(inv, '--at', new Date(notAfter - 60_000).toISOString());
    assert.equal(inTime.code, 0, inTime.out);
    const bad = await verify(inv, '--at', 'yesterday');
    assert.equal(bad.code, 2);
  });

  test('doc sign with a key that --cert does not certify: CLI_KEY_CERT_MISMATCH, nothing written', async () => {
    const out = p('mismatch.jws');
    const r = await cli(['doc', 'sign', '--key', join(client, 'key.pem'), '--cert', join(shop, 'chain.pem'), '--typ', INVOICE_TYP, INVOICE, '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^CLI_KEY_CERT_MISMATCH: /m);
    assert.equal(existsSync(out), false);
  });

  test('doc sign of an invalid invoice (amount ≠ sum of lines): PROTO_DOCUMENT_INVALID, nothing written', async () => {
    const invoice = JSON.parse(readFileSync(INVOICE, 'utf8')) as Record<string, unknown>;
    const badInvoice = p('bad-invoice.json');
    writeFileSync(badInvoice, JSON.stringify({ ...invoice, amount: 'JPY:3999' }));
    const out = p('bad.jws');
    const r = await cli(['doc', 'sign', '--key', join(shop, 'key.pem'), '--cert', join(shop, 'chain.pem'), '--typ', INVOICE_TYP, badInvoice, '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^PROTO_DOCUMENT_INVALID: /m);
    assert.equal(existsSync(out), false);
  });

  test('doc sign with the wrong passphrase: CRYPTO_KEY_PASSPHRASE_WRONG, nothing written', async () => {
    const out = p('wrong-pass.jws');
    const r = await cli(['doc', 'sign', '--key', join(shop, 'key.pem'), '--cert', join(shop, 'chain.pem'), '--typ', INVOICE_TYP, INVOICE, '--out', out], {
      QUITTANCE_PASSPHRASE: 'not the passphrase',
    });
    assert.equal(r.code, 1);
    assert.match(r.err, /^CRYPTO_KEY_PASSPHRASE_WRONG: /m);
    assert.equal(existsSync(out), false);
  });

  test('doc sign usage errors: unknown --typ, no FILE', async () => {
    const typ = await cli(['doc', 'sign', '--key', join(shop, 'key.pem'), '--cert', join(shop, 'chain.pem'), '--typ', 'quittance.poem.v1+json', INVOICE]);
    assert.equal(typ.code, 2);
    assert.match(typ.err, /unknown --typ quittance\.poem\.v1\+json/);
    const noFile = await cli(['doc', 'sign', '--key', join(shop, 'key.pem'), '--cert', join(shop, 'chain.pem'), '--typ', INVOICE_TYP]);
    assert.equal(noFile.code, 2);
  });

  test('doc sign --countersign refuses a document whose signatures do not verify, and needs --ca', async () => {
    const jws = JSON.parse(readFileSync(inv, 'utf8')) as Jws;
    const forged = p('inv-forged.jws');
    const payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    payload.amount = 'JPY:4';
    payload.lines = [{ article: 'A', name: 'Article A', quantity: 1, unitPrice: 'JPY:4' }];
    writeFileSync(forged, JSON.stringify({ ...jws, payload: Buffer.from(JSON.stringify(payload)).toString('base64url') }));
    const out = p('never.jws');
    const r = await cli(['doc', 'sign', '--countersign', '--ca', caCert, '--key', join(client, 'key.pem'), '--cert', join(client, 'chain.pem'), '--typ', INVOICE_TYP, forged, '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.err, /CLI_COUNTERSIGN_UNVERIFIED/);
    assert.equal(existsSync(out), false);
    const noCa = await cli(['doc', 'sign', '--countersign', '--key', join(client, 'key.pem'), '--cert', join(client, 'chain.pem'), '--typ', INVOICE_TYP, inv, '--out', out]);
    assert.equal(noCa.code, 2);
    assert.equal(existsSync(out), false);
  });

  test('doc verify --at takes RFC 3339 only', async () => {
    const r = await verify(inv, '--at', '2026');
    assert.equal(r.code, 2);
  });

  test('doc sign --countersign: two signatures, both verified, signers in order', async () => {
    const both = p('inv-countersigned.jws');
    const r = await cli(['doc', 'sign', '--countersign', '--ca', caCert, '--key', join(client, 'key.pem'), '--cert', join(client, 'chain.pem'), '--typ', INVOICE_TYP, inv, '--out', both]);
    assert.equal(r.code, 0, r.err);
    const jws = JSON.parse(readFileSync(both, 'utf8')) as Jws;
    const original = JSON.parse(readFileSync(inv, 'utf8')) as Jws;
    assert.equal(jws.signatures.length, 2);
    // Same payload bytes and the merchant's signature untouched.
    assert.equal(jws.payload, original.payload);
    assert.deepEqual(jws.signatures[0], original.signatures[0]);

    const v = await verify(both, '--json', '--role', 'merchant', '--crl', freshCrl);
    assert.equal(v.code, 0, v.out);
    const out = JSON.parse(v.out) as VerifyJson;
    assert.equal(out.valid, true);
    assert.equal(out.revocationChecked, true);
    assert.deepEqual(
      out.signers?.map((s) => [s.role, s.partyId]),
      [
        ['merchant', merchant.partyId],
        ['client', shopper.partyId],
      ],
    );
    const text = await verify(both);
    assert.match(text.out, /signer 1: merchant "Tokyo On-line Mail Order Dealer"[^\n]*\n {2}signer 2: client "hanako"/);

    // Dropping the merchant's signature changes the first signer: --role merchant refuses it.
    const onlyClient = p('only-client.jws');
    writeFileSync(onlyClient, JSON.stringify({ payload: jws.payload, signatures: [jws.signatures[1]] }));
    const dropped = await verify(onlyClient, '--role', 'merchant');
    assert.equal(dropped.code, 1);
    assert.match(dropped.out, /^invalid: PROTO_CERT_ROLE_MISMATCH: /m);
  });

  test('jose (an independent JOSE library) verifies the evidence with the key from x5c', async () => {
    for (const file of [inv, p('inv-countersigned.jws')]) {
      const jws = JSON.parse(readFileSync(file, 'utf8')) as Jws;
      for (const sig of jws.signatures) {
        const header = jose.decodeProtectedHeader(sig) as { x5c: string[] };
        const leaf = `-----BEGIN CERTIFICATE-----\n${header.x5c[0]!.replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
        const key = await jose.importX509(leaf, 'EdDSA');
        const flat = await jose.flattenedVerify({ payload: jws.payload, protected: sig.protected, signature: sig.signature }, key, { algorithms: ['EdDSA'] });
        assert.deepEqual(JSON.parse(new TextDecoder().decode(flat.payload)), JSON.parse(readFileSync(INVOICE, 'utf8')));
      }
    }
    // The general serialization as a whole, with the merchant's certified key.
    const jws = JSON.parse(readFileSync(inv, 'utf8')) as Jws;
    const shopKey = await jose.importX509(readFileSync(join(shop, 'cert.pem'), 'utf8'), 'EdDSA');
    const general = await jose.generalVerify(jws, shopKey, { algorithms: ['EdDSA'] });
    assert.equal(general.protectedHeader?.typ, INVOICE_TYP);
    // And jose refuses the same JWS under another key.
    const clientKey = await jose.importX509(readFileSync(join(client, 'cert.pem'), 'utf8'), 'EdDSA');
    await assert.rejects(jose.generalVerify(jws, clientKey, { algorithms: ['EdDSA'] }), jose.errors.JWSSignatureVerificationFailed);
  });

  // Last: it revokes the merchant's certificate, which the tests above rely on.
  test('after revocation, with the new CRL: PROTO_CERT_REVOKED; the stale CRL still passes', async () => {
    const rv = await cli(['ca', 'revoke', merchant.serial, '--data', data, '--reason', 'keyCompromise'], {});
    assert.equal(rv.code, 0, rv.err);
    const newCrl = p('crl-new.pem');
    assert.equal((await cli(['ca', 'crl', '--data', data, '--out', newCrl])).code, 0);
    const r = await verify(inv, '--crl', newCrl);
    assert.equal(r.code, 1);
    assert.match(r.out, /^invalid: PROTO_CERT_REVOKED: /m);
    const j = await verify(inv, '--crl', newCrl, '--json');
    assert.deepEqual(pick(JSON.parse(j.out) as VerifyJson), { valid: false, code: 'PROTO_CERT_REVOKED' });
    // A CRL from before the revocation does not know about it (that is what
    // --crl-max-age bounds); without any CRL the output says it did not check.
    assert.equal((await verify(inv, '--crl', freshCrl)).code, 0);
    assert.match((await verify(inv)).out, /revocation: NOT checked/);
  });
});

function pick(v: VerifyJson): { valid: boolean; code?: string } {
  return { valid: v.valid, code: v.code };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
