// `quittance verify BUNDLE --ca CA.pem`: checks a purchase's evidence bundle
// (docs/EVIDENCE.md) offline, trusting nothing but the CA certificate given:
// every signature and chain as of each document's time, every signer's role,
// and that the receipt answers the invoice that answers the order — and that
// each refund in it was permitted by the shop and paid by the payment server.
import { verifyBundle, type Evidence } from '../../protocol/evidence.ts';
import { EXIT, UsageError, requireString, type Command, type Io } from '../command.ts';
import { JSON_OUT, printResult } from '../output.ts';
import { readCertificates, readCrls, readText } from '../pem-files.ts';

function notProven(io: Io, json: boolean, r: { code: string; message: string; details?: unknown }): number {
  if (json) io.out(JSON.stringify({ proven: false, code: r.code, message: r.message, ...(r.details !== undefined ? { details: r.details } : {}) }, null, 2) + '\n');
  else io.err(`NOT PROVEN: ${r.code}: ${r.message}\n`);
  return EXIT.FAILED;
}

function text(e: Evidence): string {
  const p = e.parties;
  const hashes = [...Object.entries(e.hashes), ...(e.refunds ?? []).flatMap((r, k) => Object.entries(r.hashes).map(([d, h]) => [`refunds[${k}].${d}`, h] as const))];
  const width = Math.max(18, ...hashes.map(([k]) => k.length));
  const purchaser = p.purchaser.kind === 'certified' ? `${p.purchaser.name} (${p.purchaser.id}), certificate ${p.purchaser.fingerprint}` : `anonymous per-order key ${p.purchaser.id}`;
  return [
    `PROVEN: transaction ${e.transactionId}, ${e.amount} (${e.mode})`,
    ...e.statements.map((s) => `  - ${s}`),
    ...(e.refunds ? [`Refunded: ${e.refunded} of ${e.amount}, in ${e.refunds.length} refund${e.refunds.length === 1 ? '' : 's'} (${e.refunds.map((r) => `${r.permitId} ${r.amount} ${r.state}`).join(', ')})`] : []),
    'Signers (certificates validated as of each document\'s time):',
    `  shop:            ${p.shop.name} (${p.shop.id}), certificate ${p.shop.fingerprint}, issued by ${p.shop.issuer}`,
    `  purchaser:       ${purchaser}`,
    `  payment server:  ${p.paymentServer.name} (${p.paymentServer.id}), certificate ${p.paymentServer.fingerprint}`,
    'Document hashes (SHA-256 of the canonical payload):',
    ...hashes.map(([k, h]) => `  ${k.padEnd(width)} ${h}`),
    e.revocationChecked ? 'Revocation: every certificate checked against the CRLs given.' : 'Revocation: NOT checked (no CRL in the bundle or given with --crl).',
  ].join('\n') + '\n';
}

export const verify: Command = {
  name: 'verify',
  summary: 'check a purchase (and refund) evidence bundle offline against a CA certificate; exit 0 proven, 1 not',
  args: 'FILE',
  options: {
    ca: { type: 'string', description: 'the CA certificate(s) to trust (PEM)', valueName: 'CA.pem' },
    crl: { type: 'string', multiple: true, description: 'CRL file(s), PEM or DER: then every certificate must be covered and unrevoked', valueName: 'FILE' },
    json: JSON_OUT,
  },
  details: `FILE is a bundle written by \`quittance wallet export\` (format quittance.evidence.v1,
docs/EVIDENCE.md). Checked: every signature and certificate chain up to --ca, as of the
document's own time (so a certificate that expired later still proves the past); the
signers' roles (order and acceptance: the purchaser; invoice and completion: the shop;
reception response and receipt: the payment server the invoice named); and the links (the
invoice answers the order, the receipt answers the invoice: transaction, amount, purchaser,
shop, payment server, invoice hash). Refunds in the bundle: the request and the claim
signed with the key that signed the order, the permit by the invoicing shop and
countersigned by that key, the payment server's word that it paid the permit, the
purchaser's receipt if there; permits distinct and the refunds no more than was paid.
Exit 0 and the proven statements; exit 1 and the reason code (PROTO_EVIDENCE_… or the
failed signature or certificate check) otherwise.`,
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError('expected exactly one bundle FILE');
    const file = positionals[0]!;
    const json = Boolean(values.json);
    const caPath = requireString(values, 'ca');
    const trustAnchors = await readCertificates(caPath, 'CA certificate');
    const crls = (await Promise.all(((values.crl as string[] | undefined) ?? []).map(readCrls))).flat();
    let bundle: unknown;
    try {
      bundle = JSON.parse(await readText(file, 'bundle'));
    } catch (e) {
      if ((e as Error).message.startsWith('cannot read')) throw e;
      return notProven(io, json, { code: 'PROTO_EVIDENCE_MALFORMED', message: `${file} is not JSON` });
    }
    const r = await verifyBundle(bundle, { trustAnchors, crls, now: new Date() });
    if (!r.ok) return notProven(io, json, r);
    printResult(io, json, r.value, text(r.value));
    return EXIT.OK;
  },
};
