// `quittance audit`: the payment server's books checked against each other
// (DESIGN §4 "at every moment: the sum of all balances is zero, coins
// outstanding equal the e-money float, and nothing is paid twice"). Every
// check recomputes a figure from one record and compares it with another
// record that was written by a different step, so a row changed, added or
// removed behind the code's back shows up as a named problem; and every ledger
// transfer must be explained by one of those records, so money moved by hand
// between accounts the other checks only total up is named too.
//
// Reads only, from one snapshot: on a running server, a withdrawal committing
// between two reads would otherwise show as a false violation.
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { decodeBase64url } from '../protocol/base64url.ts';
import { verifyEd25519 } from '../protocol/ed25519.ts';
import { formatAmount, parseAmount } from '../protocol/amount.ts';
import { REMITTANCE_REQUEST_TYP, REPAYMENT_PERMIT_TYP, REPAYMENT_RECEIPT_TYP } from '../protocol/documents/index.ts';
import { documentHash, verifyDocument, type VerifiedDocument } from '../protocol/jws.ts';
import { x509 } from '../protocol/x509/index.ts';
import { accountPaymentSigningBytes, purseRegistrationSigningBytes } from '../protocol/messages/payment.ts';
import { toBigInt } from '../store/index.ts';
import type { PaymentBankIncomingTable, PaymentBounceTable, PaymentDatabase, PaymentLedgerTransferTable, PaymentRepaymentTable } from './db.ts';
import { checkLedger, ledgerAccount } from './ledger.ts';
import { bounceId, loadTransferId, receivedTransferId } from './loader.ts';
import { PAYMENT_MIGRATIONS } from './migrations/index.ts';
import { PAYMENT_SPENDER } from './ecash-payment.ts';
import { paymentTransferId } from './paid.ts';
import { checkMerchantChain, merchantAccount } from './merchants.ts';
import { RECIPIENT, refundTransferId, repaymentRef, signerKey } from './repayments.ts';
import { settlementTransferId } from './settlement.ts';
import { withdrawSourceId, withdrawTransferId } from './withdraw.ts';

type Db = Kysely<PaymentDatabase>;

export type AuditCheck = { name: string; ok: boolean; problems: string[] };
export type AuditReport = { ok: boolean; checks: AuditCheck[] };

/** Problems listed per check; the rest are counted. */
const MAX_PROBLEMS = 100;

function check(name: string, problems: string[]): AuditCheck {
  const shown = problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `… and ${problems.length - MAX_PROBLEMS} more`] : problems;
  return { name, ok: problems.length === 0, problems: shown };
}

const sumAs = (column: string) => sql<unknown>`cast(sum(${sql.ref(column)}) as bigint)`.as('s');

/** Minor units of `currency` as "CUR:123" (raw minor units: the audit reads whatever is stored). */
const money = (currency: string, minor: bigint) => `${currency} ${minor}`;

/** The schema this code audits: every payment migration applied, none unknown. */
async function schemaCheck(db: Db): Promise<AuditCheck> {
  let applied: string[];
  try {
    applied = (await sql<{ name: string }>`select name from payment_migration`.execute(db)).rows.map((r) => r.name);
  } catch {
    return check('schema', ['no payment_migration table: this is not a payment server database']);
  }
  const known = Object.keys(PAYMENT_MIGRATIONS);
  const problems = [
    ...known.filter((n) => !applied.includes(n)).map((n) => `migration ${n} is not applied (start the payment server once to migrate)`),
    ...applied.filter((n) => !known.includes(n)).map((n) => `migration ${n} is unknown to this version (audit with the version that wrote it)`),
  ];
  return check('schema', problems);
}

/** The float of each currency equals the value of the envelopes signed minus that of the coins spent. */
async function floatCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  const issued = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_issued_envelopes').select(['currency', sumAs('value')]).groupBy('currency').execute()) issued.set(r.currency, toBigInt(r.s));
  const spent = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_spent_coins').select(['currency', sumAs('value')]).groupBy('currency').execute()) spent.set(r.currency, toBigInt(r.s));
  const floats = new Map<string, { balance: bigint; pending: bigint }>();
  for (const a of await db.selectFrom('payment_ledger_accounts').selectAll().where('kind', '=', 'float').execute()) {
    if (a.id !== ledgerAccount.float(a.currency)) problems.push(`float account ${a.id} is not named after its currency ${a.currency}`);
    floats.set(a.currency, { balance: a.credits_posted - a.debits_posted, pending: a.debits_pending + a.credits_pending });
  }
  const currencies = [...new Set([...issued.keys(), ...spent.keys(), ...floats.keys()])].sort();
  for (const cur of currencies) {
    const outstanding = (issued.get(cur) ?? 0n) - (spent.get(cur) ?? 0n);
    const f = floats.get(cur) ?? { balance: 0n, pending: 0n };
    if (f.balance !== outstanding) {
      problems.push(`float:${cur} holds ${money(cur, f.balance)} but envelopes issued (${money(cur, issued.get(cur) ?? 0n)}) minus coins spent (${money(cur, spent.get(cur) ?? 0n)}) is ${money(cur, outstanding)}`);
    }
    if (f.pending !== 0n) problems.push(`float:${cur} has money on hold`);
  }
  // Each envelope was signed for what its denomination key is worth.
  const envelopes = await db
    .selectFrom('payment_issued_envelopes as e')
    .leftJoin('payment_denomination_keys as k', 'k.denomination_id', 'e.denomination_id')
    .select(['e.envelope_hash', 'e.currency', 'e.value', 'k.currency as key_currency', 'k.value as key_value'])
    .where((eb) => eb.or([eb('k.denomination_id', 'is', null), eb('k.currency', '<>', eb.ref('e.currency')), eb('k.value', '<>', eb.ref('e.value'))]))
    .execute();
  for (const e of envelopes) {
    problems.push(
      e.key_currency === null
        ? `issued envelope ${e.envelope_hash} names no known denomination key`
        : `issued envelope ${e.envelope_hash} is booked at ${money(e.currency, e.value)} but its denomination key is worth ${money(e.key_currency, toBigInt(e.key_value))}`,
    );
  }
  return check('float', problems);
}

/** No coin spent twice; every spent coin is booked at its denomination key's value, by a spender that exists. */
async function coinsCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  const twice = await db
    .selectFrom('payment_spent_coins')
    .select(['coin_pub', (eb) => eb.fn.countAll().as('n')])
    .groupBy('coin_pub')
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute();
  for (const c of twice) problems.push(`coin ${c.coin_pub} is spent ${Number(c.n)} times`);
  const mismatched = await db
    .selectFrom('payment_spent_coins as c')
    .leftJoin('payment_denomination_keys as k', 'k.denomination_id', 'c.denomination_id')
    .select(['c.coin_pub', 'c.currency', 'c.value', 'k.currency as key_currency', 'k.value as key_value'])
    .where((eb) => eb.or([eb('k.denomination_id', 'is', null), eb('k.currency', '<>', eb.ref('c.currency')), eb('k.value', '<>', eb.ref('c.value'))]))
    .execute();
  for (const c of mismatched) {
    problems.push(
      c.key_currency === null
        ? `spent coin ${c.coin_pub} names no known denomination key`
        : `spent coin ${c.coin_pub} is booked at ${money(c.currency, c.value)} but its denomination key is worth ${money(c.key_currency, toBigInt(c.key_value))}`,
    );
  }
  const orphans = await db
    .selectFrom('payment_spent_coins as c')
    .leftJoin('payment_swaps as s', 's.swap_id', 'c.spent_ref')
    .select(['c.coin_pub', 'c.spent_ref'])
    .where('c.spent_by', '=', 'swap')
    .where('s.swap_id', 'is', null)
    .execute();
  for (const c of orphans) problems.push(`coin ${c.coin_pub} is spent by swap ${c.spent_ref}, which does not exist`);
  return check('coins', problems);
}

async function envelopeSums(db: Db, source: string): Promise<Map<string, { value: bigint; currencies: Set<string> }>> {
  const sums = new Map<string, { value: bigint; currencies: Set<string> }>();
  const rows = await db.selectFrom('payment_issued_envelopes').select(['source_id', 'currency', sumAs('value')]).where('source', '=', source).groupBy(['source_id', 'currency']).execute();
  for (const r of rows) {
    const s = sums.get(r.source_id) ?? { value: 0n, currencies: new Set<string>() };
    s.value += toBigInt(r.s);
    s.currencies.add(r.currency);
    sums.set(r.source_id, s);
  }
  return sums;
}

/** Each withdrawal: its amount = its envelopes = its ledger transfer reserve → float. */
async function withdrawalsCheck(db: Db, claims: Claims): Promise<AuditCheck> {
  const problems: string[] = [];
  const envelopes = await envelopeSums(db, 'withdraw');
  const transfers = new Map((await db.selectFrom('payment_ledger_transfers').selectAll().where('reason', '=', 'withdraw').execute()).map((t) => [t.id, t]));
  const seenSources = new Set<string>();
  for (const w of await db.selectFrom('payment_withdrawals').selectAll().execute()) {
    const label = `withdrawal ${w.request_id} from reserve ${w.reserve_pub}`;
    const source = withdrawSourceId(w.reserve_pub, w.request_id);
    seenSources.add(source);
    const env = envelopes.get(source);
    if ((env?.value ?? 0n) !== w.amount) problems.push(`${label} is for ${money(w.currency, w.amount)} but its envelopes are worth ${money(w.currency, env?.value ?? 0n)}`);
    if (env && [...env.currencies].some((c) => c !== w.currency)) problems.push(`${label} is in ${w.currency} but has envelopes in ${[...env.currencies].join(', ')}`);
    const id = withdrawTransferId(w.reserve_pub, w.request_id);
    const t = transfers.get(id);
    transfers.delete(id);
    if (t) claims.add(id);
    if (!t) problems.push(`${label} has no ledger transfer ${id}`);
    else if (t.amount !== w.amount || t.flow !== 'posted' || t.currency !== w.currency || t.debit_account !== ledgerAccount.reserve(w.reserve_pub) || t.credit_account !== ledgerAccount.float(w.currency)) {
      problems.push(`${label} (${money(w.currency, w.amount)}) does not match its ledger transfer ${id} (${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account}, ${t.flow})`);
    }
  }
  for (const [source, env] of envelopes) if (!seenSources.has(source)) problems.push(`envelopes worth ${env.value} are issued for withdrawal ${source}, which does not exist`);
  for (const id of transfers.keys()) problems.push(`ledger transfer ${id} withdraws money for no withdrawal`);
  return check('withdrawals', problems);
}

/** Each swap: the coins it spent = the envelopes it signed = its amount. */
async function swapsCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  const envelopes = await envelopeSums(db, 'swap');
  const coins = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_spent_coins').select(['spent_ref', sumAs('value')]).where('spent_by', '=', 'swap').groupBy('spent_ref').execute()) coins.set(r.spent_ref, toBigInt(r.s));
  const seen = new Set<string>();
  for (const s of await db.selectFrom('payment_swaps').selectAll().execute()) {
    seen.add(s.swap_id);
    const spent = coins.get(s.swap_id) ?? 0n;
    const issued = envelopes.get(s.swap_id)?.value ?? 0n;
    if (spent !== s.amount || issued !== s.amount) {
      problems.push(`swap ${s.swap_id} is for ${money(s.currency, s.amount)} but spent coins worth ${money(s.currency, spent)} and signed envelopes worth ${money(s.currency, issued)}`);
    }
  }
  for (const [id, env] of envelopes) if (!seen.has(id)) problems.push(`envelopes worth ${env.value} are issued for swap ${id}, which does not exist`);
  return check('swaps', problems);
}

/**
 * Each e-money payment: when PAID, the coins it spent = its amount + its
 * change envelopes, and one posted transfer float → merchant of its amount;
 * an unpaid one has no coins, change or transfer. (Spent coins leave the
 * float and change re-enters it, so the float check covers the rest.)
 */
async function paymentsCheck(db: Db, claims: Claims): Promise<AuditCheck> {
  const problems: string[] = [];
  const change = await envelopeSums(db, 'change');
  const coins = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_spent_coins').select(['spent_ref', sumAs('value')]).where('spent_by', '=', PAYMENT_SPENDER).groupBy('spent_ref').execute()) coins.set(r.spent_ref, toBigInt(r.s));
  const transfers = new Map((await db.selectFrom('payment_ledger_transfers').selectAll().where('reason', '=', 'payment').execute()).map((t) => [t.id, t]));
  const purses = new Map((await db.selectFrom('payment_purses').select(['purse_key', 'party_id']).execute()).map((r) => [r.purse_key, r.party_id]));
  const seen = new Set<string>();
  for (const p of await db.selectFrom('payment_payments').selectAll().execute()) {
    seen.add(p.payment_id);
    const label = `payment ${p.payment_id} (shop ${p.shop_id}, transaction ${p.transaction_id})`;
    const spent = coins.get(p.payment_id) ?? 0n;
    const back = change.get(p.payment_id)?.value ?? 0n;
    const id = paymentTransferId(p.payment_id);
    const t = transfers.get(id);
    transfers.delete(id);
    if (p.state !== 'PAID') {
      if (spent !== 0n || back !== 0n || t) problems.push(`${label} is ${p.state} but has spent coins, change or a ledger transfer`);
      continue;
    }
    // Mode ecash pays from the float (coins spent, change back); mode account from the purchaser's purse.
    let from = ledgerAccount.float(p.currency);
    if (p.payment_mode === 'ecash') {
      if (spent !== p.amount + back) problems.push(`${label} is for ${money(p.currency, p.amount)} but spent coins worth ${money(p.currency, spent)} against change worth ${money(p.currency, back)}`);
      if (p.purse_key !== null) problems.push(`${label} is paid with e-money but names purse ${p.purse_key}`);
    } else if (p.payment_mode === 'account') {
      if (spent !== 0n || back !== 0n) problems.push(`${label} is paid from a purse but has spent coins or change`);
      const owner = p.purse_key === null ? undefined : purses.get(p.purse_key);
      if (p.purse_key === null) problems.push(`${label} is paid from a purse but names none`);
      else if (owner !== p.purchaser_id) problems.push(`${label} is paid from purse ${p.purse_key}, which ${owner === undefined ? 'is not registered' : `belongs to ${owner}`}, not to the purchaser ${p.purchaser_id}`);
      if (p.purse_key !== null) {
        from = ledgerAccount.reserve(p.purse_key);
        // The purse key's own order to pay exactly this: without it the debit is not the shopper's.
        const body = { invoiceHash: p.invoice_hash, transactionId: p.transaction_id, merchantId: p.shop_id, amount: formatAmount({ currency: p.currency, minor: p.amount }), purseKey: p.purse_key };
        if (p.purse_signature === null || !(await verifyEd25519(p.purse_key, p.purse_signature, accountPaymentSigningBytes(body)))) {
          problems.push(`${label} is debited from purse ${p.purse_key} without the purse key's valid signature of this payment`);
        }
      }
    } else {
      problems.push(`${label} is PAID in mode ${p.payment_mode}, which this server does not take`);
    }
    if (!t) {
      problems.push(`${label} is PAID but has no ledger transfer ${id}`);
      continue;
    }
    claims.add(id);
    if (t.amount !== p.amount || t.flow !== 'posted' || t.currency !== p.currency || t.debit_account !== from || t.credit_account !== merchantAccount(p.shop_id, p.currency)) {
      problems.push(`${label} (${money(p.currency, p.amount)}) does not match its ledger transfer ${id} (${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account}, ${t.flow})`);
    }
  }
  for (const [ref, value] of coins) if (!seen.has(ref)) problems.push(`coins worth ${value} are spent by payment ${ref}, which does not exist`);
  for (const [ref, env] of change) if (!seen.has(ref)) problems.push(`change worth ${env.value} is issued for payment ${ref}, which does not exist`);
  for (const id of transfers.keys()) problems.push(`ledger transfer ${id} pays a merchant for no payment`);
  return check('payments', problems);
}

/** The payload of a stored JWS (JSON) as an object, and its document hash; undefined when it does not decode. */
async function storedDocument(jws: string): Promise<{ doc: Record<string, unknown>; hash: string } | undefined> {
  try {
    const bytes = decodeBase64url((JSON.parse(jws) as { payload: string }).payload);
    if (!bytes) return undefined;
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof doc !== 'object' || doc === null) return undefined;
    return { doc: doc as Record<string, unknown>, hash: await documentHash(bytes) };
  } catch {
    return undefined;
  }
}

/**
 * The CAs a refund's signatures must chain to: those given (the payment
 * server's own CA, from --data), or else the roots of the merchant contracts'
 * chains, which the operator checked against the CA when adding them.
 */
async function auditAnchors(db: Db, given: readonly Uint8Array[] | undefined, problems: string[]): Promise<Uint8Array[]> {
  const key = (der: Uint8Array) => Buffer.from(der).toString('base64');
  const roots = new Map<string, Uint8Array>();
  for (const m of await db.selectFrom('payment_merchants').select(['merchant_id', 'certificate_chain', 'created_at']).execute()) {
    let root: Uint8Array | undefined;
    try {
      const certs = x509.PemConverter.decodeWithHeaders(m.certificate_chain).filter((b) => b.type === 'CERTIFICATE');
      const last = certs[certs.length - 1];
      if (last) root = new Uint8Array(last.rawData);
    } catch {
      // A contract whose chain does not parse anchors nothing; its refunds then fail to verify.
    }
    if (root) roots.set(key(root), root);
    // Given the CA from outside the database, a contract whose chain does not
    // validate to it (as when it was added) was not made by this server's operator.
    if (given && given.length > 0) {
      let valid = false;
      for (const anchor of given) if ((await checkMerchantChain(m.certificate_chain, anchor, new Date(m.created_at))).ok) valid = true;
      if (!valid) problems.push(`the contract of merchant ${m.merchant_id} does not chain to the CA the audit was given`);
    }
  }
  if (given && given.length > 0) return [...given];
  return [...roots.values()];
}

/**
 * The signatures behind a refund, as of when it was claimed (certificates
 * valid then; revocation since does not undo evidence): the permit signed by
 * the merchant of the refund's shop and countersigned by the recipient, the
 * remittance request and (once completed) the repayment receipt signed by
 * that same key. Without them a row with matching figures is money paid on
 * nobody's word.
 */
async function refundSignatureProblems(r: PaymentRepaymentTable, anchors: readonly Uint8Array[], label: string): Promise<string[]> {
  const problems: string[] = [];
  const policy = (expectedTyp: string, signers: VerifyPolicyArg) => ({ now: new Date(r.created_at), trustAnchors: anchors, crls: [], requireCrl: false, crlMaxAgeSeconds: 0, expectedTyp, signers });
  const parse = (jws: string | null): unknown => {
    try {
      return jws === null ? undefined : JSON.parse(jws);
    } catch {
      return undefined;
    }
  };
  const claimer = { signer_kind: r.signer_kind, signer_key: r.signer_key };
  const sameClaimer = (v: VerifiedDocument, i: number) => {
    const k = signerKey(v.signers[i]!);
    return k.signer_kind === claimer.signer_kind && k.signer_key === claimer.signer_key;
  };
  const permit = await verifyDocument(parse(r.permit_jws), policy(REPAYMENT_PERMIT_TYP, [{ roles: ['merchant'] }, RECIPIENT]));
  if (!permit.ok) problems.push(`${label}: the stored permit's signatures do not verify (${permit.code}: ${permit.message})`);
  else {
    const merchant = permit.value.signers[0]!;
    if (merchant.kind !== 'certified' || merchant.partyId !== r.shop_id) problems.push(`${label}: the stored permit is not signed by merchant ${r.shop_id}`);
    if (!sameClaimer(permit.value, 1)) problems.push(`${label}: the stored permit is countersigned by another key than the one recorded as claiming it`);
    const recipient = permit.value.signers[1]!;
    if ((recipient.kind === 'certified' ? recipient.partyId : recipient.thumbprint) !== r.recipient_id) problems.push(`${label}: the stored permit is countersigned by someone other than the recipient ${r.recipient_id}`);
  }
  const request = await verifyDocument(parse(r.request_jws), policy(REMITTANCE_REQUEST_TYP, [RECIPIENT]));
  if (!request.ok) problems.push(`${label}: the stored remittance request's signature does not verify (${request.code}: ${request.message})`);
  else if (!sameClaimer(request.value, 0)) problems.push(`${label}: the stored remittance request is signed by another key than the permit's countersigner`);
  if (r.state === 'completed') {
    const receipt = await verifyDocument(parse(r.receipt_jws), { ...policy(REPAYMENT_RECEIPT_TYP, [RECIPIENT]), now: new Date(r.completed_at ?? r.created_at) });
    if (!receipt.ok) problems.push(`${label}: the stored repayment receipt's signature does not verify (${receipt.code}: ${receipt.message})`);
    else if (!sameClaimer(receipt.value, 0)) problems.push(`${label}: the stored repayment receipt is signed by another key than the one that claimed the refund`);
  }
  return problems;
}

type VerifyPolicyArg = Parameters<typeof verifyDocument>[1]['signers'];

/**
 * Refunds (issue 5, remittance.ts). Each repayment: of a PAID payment of its
 * shop and transaction, in its currency, to its purchaser; one posted ledger
 * transfer refund:<shop>/<permit> of exactly its amount, merchant → float
 * (mode ecash, with refund envelopes worth exactly that: the float check
 * covers the rest) or merchant → the purse (mode account, registered to the
 * recipient); its stored permit and remittance request are the documents its
 * hashes name, say what the row says, and carry valid signatures of the
 * merchant and the recipient (refundSignatureProblems). Each payment: the
 * refunds sum to its `refunded`, which is not above its amount. Each permit
 * is paid once.
 */
async function refundsCheck(db: Db, claims: Claims, trustAnchors: readonly Uint8Array[] | undefined): Promise<AuditCheck> {
  const problems: string[] = [];
  const anchors = await auditAnchors(db, trustAnchors, problems);
  const envelopes = await envelopeSums(db, 'refund');
  const transfers = new Map((await db.selectFrom('payment_ledger_transfers').selectAll().where('reason', '=', 'refund').execute()).map((t) => [t.id, t]));
  const purses = new Map((await db.selectFrom('payment_purses').select(['purse_key', 'party_id']).execute()).map((r) => [r.purse_key, r.party_id]));
  const payments = new Map(
    (await db.selectFrom('payment_payments').select(['payment_id', 'shop_id', 'transaction_id', 'purchaser_id', 'currency', 'amount', 'state', 'refunded']).execute()).map((p) => [p.payment_id, p]),
  );
  // The primary key and the unique permit hash make these impossible; a copied table or a dropped constraint does not.
  const twice = await db
    .selectFrom('payment_repayments')
    .select(['shop_id', 'permit_id', (eb) => eb.fn.countAll().as('n')])
    .groupBy(['shop_id', 'permit_id'])
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute();
  for (const r of twice) problems.push(`permit ${r.permit_id} of shop ${r.shop_id} is paid ${Number(r.n)} times`);
  const sameDocument = await db
    .selectFrom('payment_repayments')
    .select(['permit_hash', (eb) => eb.fn.countAll().as('n')])
    .groupBy('permit_hash')
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute();
  for (const r of sameDocument) problems.push(`the permit document ${r.permit_hash} is paid ${Number(r.n)} times`);

  const sums = new Map<string, bigint>();
  const seen = new Set<string>();
  for (const r of await db.selectFrom('payment_repayments').selectAll().orderBy('shop_id').orderBy('permit_id').execute()) {
    const label = `refund ${r.permit_id} of shop ${r.shop_id} (transaction ${r.transaction_id}, ${money(r.currency, r.amount)})`;
    const ref = repaymentRef(r.shop_id, r.permit_id);
    seen.add(ref);
    const p = payments.get(r.payment_id);
    if (!p) problems.push(`${label} is for payment ${r.payment_id}, which does not exist`);
    else {
      sums.set(p.payment_id, (sums.get(p.payment_id) ?? 0n) + r.amount);
      if (p.state !== 'PAID') problems.push(`${label} repays payment ${p.payment_id}, which is ${p.state}`);
      if (p.shop_id !== r.shop_id || p.transaction_id !== r.transaction_id || p.currency !== r.currency || p.purchaser_id !== r.recipient_id) {
        problems.push(`${label} to ${r.recipient_id} does not match its payment ${p.payment_id} (shop ${p.shop_id}, transaction ${p.transaction_id}, ${p.currency}, purchaser ${p.purchaser_id})`);
      }
    }

    const env = envelopes.get(ref);
    let to = ledgerAccount.float(r.currency);
    if (r.mode === 'ecash') {
      if ((env?.value ?? 0n) !== r.amount) problems.push(`${label} is paid in e-money but its envelopes are worth ${money(r.currency, env?.value ?? 0n)}`);
      if (env && [...env.currencies].some((c) => c !== r.currency)) problems.push(`${label} has envelopes in ${[...env.currencies].join(', ')}`);
    } else {
      if (env) problems.push(`${label} is paid into a purse but has envelopes worth ${env.value}`);
      const owner = r.purse_key === null ? undefined : purses.get(r.purse_key);
      if (r.purse_key === null) problems.push(`${label} is paid into a purse but names none`);
      else {
        to = ledgerAccount.reserve(r.purse_key);
        if (owner !== r.recipient_id) problems.push(`${label} is paid into purse ${r.purse_key}, which ${owner === undefined ? 'is not registered' : `belongs to ${owner}`}, not to the recipient ${r.recipient_id}`);
      }
    }

    const id = refundTransferId(r.shop_id, r.permit_id);
    const t = transfers.get(id);
    transfers.delete(id);
    if (!t) problems.push(`${label} has no ledger transfer ${id}`);
    else {
      claims.add(id);
      if (t.amount !== r.amount || t.flow !== 'posted' || t.currency !== r.currency || t.debit_account !== merchantAccount(r.shop_id, r.currency) || t.credit_account !== to) {
        problems.push(`${label} does not match its ledger transfer ${id} (${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account}, ${t.flow})`);
      }
    }

    // The evidence: the permit the merchant signed and the recipient's claim, as the row records them.
    const isAmount = (v: unknown) => {
      const a = typeof v === 'string' ? parseAmount(v) : undefined;
      return a?.ok === true && a.value.currency === r.currency && a.value.minor === r.amount;
    };
    const permit = await storedDocument(r.permit_jws);
    const request = await storedDocument(r.request_jws);
    if (!permit || permit.hash !== r.permit_hash) problems.push(`${label}: the stored permit is not the document ${r.permit_hash}`);
    else {
      const d = permit.doc;
      const shop = d.shop as { id?: unknown } | undefined;
      if (d.permitId !== r.permit_id || shop?.id !== r.shop_id || d.transactionId !== r.transaction_id || d.recipientId !== r.recipient_id || !isAmount(d.amount) || d.mode !== r.mode) {
        problems.push(`${label}: the stored permit says another permit, shop, transaction, recipient, amount or mode`);
      }
    }
    if (!request || request.hash !== r.request_hash) problems.push(`${label}: the stored remittance request is not the document ${r.request_hash}`);
    else {
      const d = request.doc;
      if (d.permitId !== r.permit_id || d.permitHash !== r.permit_hash || d.recipientId !== r.recipient_id || !isAmount(d.amount) || (d.purseKey ?? null) !== r.purse_key) {
        problems.push(`${label}: the stored remittance request names another permit, recipient, amount or purse`);
      }
    }
    problems.push(...(await refundSignatureProblems(r, anchors, label)));
  }
  for (const p of payments.values()) {
    const sum = sums.get(p.payment_id) ?? 0n;
    const label = `payment ${p.payment_id} (shop ${p.shop_id}, transaction ${p.transaction_id}, ${money(p.currency, p.amount)})`;
    if (sum !== p.refunded) problems.push(`${label} records ${money(p.currency, p.refunded)} refunded but its refunds sum to ${money(p.currency, sum)}`);
    if (sum > p.amount || p.refunded > p.amount) problems.push(`${label} is refunded more than was paid`);
  }
  for (const [ref, env] of envelopes) if (!seen.has(ref)) problems.push(`envelopes worth ${env.value} are issued for refund ${ref}, which does not exist`);
  for (const id of transfers.keys()) problems.push(`ledger transfer ${id} refunds money for no refund`);
  return check('refunds', problems);
}

/** Per currency: settlements paid out of the bank account (posted) and held on their way there. */
type SettlementTotals = Map<string, { sent: bigint; held: bigint }>;

/**
 * Settlements (settlement.ts). Each settlement: its hold settlement:<id> is
 * merchant → bank of exactly its amount, posted when sent, voided when
 * failed, unresolved while pending; while pending or sent its items (the
 * payments and refunds naming it) are PAID payments and refunds of its shop
 * in its currency summing to its amount (payments − refunds), and its signed
 * report says the same; a failed one holds no items (they are free again).
 * Per merchant and currency: what the ledger account holds = payments −
 * refunds − settlements sent, and its money on hold = settlements pending
 * (payouts = collected − refunds − fees, with no fees).
 */
async function settlementsCheck(db: Db, claims: Claims): Promise<{ check: AuditCheck; totals: SettlementTotals }> {
  const problems: string[] = [];
  const totals: SettlementTotals = new Map();
  const total = (cur: string) => {
    let t = totals.get(cur);
    if (!t) totals.set(cur, (t = { sent: 0n, held: 0n }));
    return t;
  };
  const related = await db
    .selectFrom('payment_ledger_transfers')
    .selectAll()
    .where((eb) => eb.or([eb('id', 'like', 'settlement:%'), eb('pending_id', 'like', 'settlement:%')]))
    .execute();
  const byId = new Map(related.map((t) => [t.id, t]));
  const byPending = new Map(related.filter((t) => t.pending_id !== null).map((t) => [t.pending_id!, t]));
  const payments = await db.selectFrom('payment_payments').select(['payment_id', 'shop_id', 'transaction_id', 'currency', 'amount', 'state', 'settlement_id']).where('settlement_id', 'is not', null).execute();
  const refunds = await db.selectFrom('payment_repayments').select(['shop_id', 'permit_id', 'transaction_id', 'currency', 'amount', 'settlement_id']).where('settlement_id', 'is not', null).execute();
  const itemsOf = new Map<string, { payments: typeof payments; refunds: typeof refunds }>();
  const items = (id: string) => {
    let i = itemsOf.get(id);
    if (!i) itemsOf.set(id, (i = { payments: [], refunds: [] }));
    return i;
  };
  for (const p of payments) items(p.settlement_id!).payments.push(p);
  for (const r of refunds) items(r.settlement_id!).refunds.push(r);
  // Per merchant account: settlements sent and pending.
  const outByAccount = new Map<string, { sent: bigint; held: bigint }>();
  const seen = new Set<string>();
  for (const s of await db.selectFrom('payment_settlements').selectAll().orderBy('created_at').orderBy('settlement_id').execute()) {
    seen.add(s.settlement_id);
    const label = `settlement ${s.settlement_id} of shop ${s.merchant_id} (${money(s.currency, s.amount)}, ${s.state})`;
    const merchant = merchantAccount(s.merchant_id, s.currency);
    const bank = ledgerAccount.bank(s.currency);
    const holdId = settlementTransferId(s.settlement_id);
    const hold = byId.get(holdId);
    const res = byPending.get(holdId);
    if (hold) claims.add(hold.id);
    if (res) claims.add(res.id);
    if (!hold) problems.push(`${label} has no held transfer ${holdId}`);
    else if (hold.flow !== 'pending' || hold.amount !== s.amount || hold.currency !== s.currency || hold.debit_account !== merchant || hold.credit_account !== bank) {
      problems.push(`${label} does not match its held transfer ${holdId} (${hold.flow}, ${money(hold.currency, hold.amount)} ${hold.debit_account} → ${hold.credit_account})`);
    }
    if (s.state === 'pending' && res) problems.push(`${label} is pending but its held money was ${res.flow === 'post_pending' ? 'posted' : 'voided'}`);
    if (s.state === 'sent' && res?.flow !== 'post_pending') problems.push(`${label} is marked sent but its held money was ${res ? 'voided' : 'never posted'}`);
    if (s.state === 'failed' && res?.flow !== 'void_pending') problems.push(`${label} is marked failed but its held money was ${res ? 'posted' : 'never released'}`);
    const o = outByAccount.get(merchant) ?? { sent: 0n, held: 0n };
    if (s.state === 'sent') {
      o.sent += s.amount;
      total(s.currency).sent += s.amount;
    } else if (s.state === 'pending') {
      o.held += s.amount;
      total(s.currency).held += s.amount;
    }
    outByAccount.set(merchant, o);

    const mine = itemsOf.get(s.settlement_id) ?? { payments: [], refunds: [] };
    if (s.state === 'failed') {
      if (mine.payments.length + mine.refunds.length > 0) problems.push(`${label} still holds ${mine.payments.length + mine.refunds.length} items, which should be free again`);
      continue;
    }
    let sum = 0n;
    for (const p of mine.payments) {
      sum += p.amount;
      if (p.shop_id !== s.merchant_id || p.currency !== s.currency || p.state !== 'PAID') problems.push(`${label} covers payment ${p.payment_id} of shop ${p.shop_id} in ${p.currency} (${p.state})`);
    }
    for (const r of mine.refunds) {
      sum -= r.amount;
      if (r.shop_id !== s.merchant_id || r.currency !== s.currency) problems.push(`${label} covers refund ${r.permit_id} of shop ${r.shop_id} in ${r.currency}`);
    }
    if (sum !== s.amount) problems.push(`${label}: its items (payments − refunds) come to ${money(s.currency, sum)}`);
    const report = await storedDocument(s.report_jws);
    const d = report?.doc;
    const shop = d?.shop as { id?: unknown } | undefined;
    const reported = typeof d?.amount === 'string' ? parseAmount(d.amount) : undefined;
    const amountOk = reported?.ok === true && reported.value.currency === s.currency && reported.value.minor === s.amount;
    if (!d || d.settlementId !== s.settlement_id || shop?.id !== s.merchant_id || d.currency !== s.currency || d.payoutAccount !== s.payout_account || !amountOk) {
      problems.push(`${label}: its stored report names another settlement, shop, currency, amount or payout account`);
    } else {
      const listed = new Set((Array.isArray(d.items) ? (d.items as { kind?: unknown; transactionId?: unknown; permitId?: unknown }[]) : []).map((i) => `${String(i.kind)}/${String(i.transactionId)}/${String(i.permitId ?? '')}`));
      const actual = new Set([...mine.payments.map((p) => `payment/${p.transaction_id}/`), ...mine.refunds.map((r) => `refund/${r.transaction_id}/${r.permit_id}`)]);
      if (listed.size !== actual.size || [...actual].some((k) => !listed.has(k))) problems.push(`${label}: its stored report lists other items than the payments and refunds that name it`);
    }
  }
  for (const id of itemsOf.keys()) if (!seen.has(id)) problems.push(`payments or refunds name settlement ${id}, which does not exist`);

  // Per merchant account: collected − refunded − paid out (or held to be) is what it holds.
  const collected = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_payments').select(['shop_id', 'currency', sumAs('amount')]).where('state', '=', 'PAID').groupBy(['shop_id', 'currency']).execute()) {
    collected.set(merchantAccount(r.shop_id, r.currency), toBigInt(r.s));
  }
  const refunded = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_repayments').select(['shop_id', 'currency', sumAs('amount')]).groupBy(['shop_id', 'currency']).execute()) {
    refunded.set(merchantAccount(r.shop_id, r.currency), toBigInt(r.s));
  }
  for (const a of await db.selectFrom('payment_ledger_accounts').selectAll().where('kind', '=', 'merchant').execute()) {
    const o = outByAccount.get(a.id) ?? { sent: 0n, held: 0n };
    const c = collected.get(a.id) ?? 0n;
    const r = refunded.get(a.id) ?? 0n;
    const balance = a.credits_posted - a.debits_posted;
    if (balance !== c - r - o.sent) {
      problems.push(`${a.id} holds ${money(a.currency, balance)} but payments (${money(a.currency, c)}) − refunds (${money(a.currency, r)}) − settlements sent (${money(a.currency, o.sent)}) is ${money(a.currency, c - r - o.sent)}`);
    }
    if (a.debits_pending !== o.held || a.credits_pending !== 0n) problems.push(`${a.id} has ${money(a.currency, a.debits_pending)} on hold but its pending settlements come to ${money(a.currency, o.held)}`);
  }
  return { check: check('settlements', problems), totals };
}

/** Each reserve's ledger balance = what was loaded into it − what was withdrawn from it − what it paid as a purse + what was refunded into it as a purse. */
async function reservesCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  const loads = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_bank_incoming').select(['reserve_pub', sumAs('amount')]).where('outcome', '=', 'credited').groupBy('reserve_pub').execute()) {
    if (r.reserve_pub !== null) loads.set(r.reserve_pub, toBigInt(r.s));
  }
  const withdrawn = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_withdrawals').select(['reserve_pub', sumAs('amount')]).groupBy('reserve_pub').execute()) withdrawn.set(r.reserve_pub, toBigInt(r.s));
  const paid = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_payments').select(['purse_key', sumAs('amount')]).where('state', '=', 'PAID').where('purse_key', 'is not', null).groupBy('purse_key').execute()) paid.set(r.purse_key!, toBigInt(r.s));
  const refunded = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_repayments').select(['purse_key', sumAs('amount')]).where('purse_key', 'is not', null).groupBy('purse_key').execute()) refunded.set(r.purse_key!, toBigInt(r.s));
  const accounts = new Map((await db.selectFrom('payment_ledger_accounts').selectAll().where('kind', '=', 'reserve').execute()).map((a) => [a.id, a]));
  for (const r of await db.selectFrom('payment_reserves').selectAll().execute()) {
    const id = ledgerAccount.reserve(r.reserve_pub);
    const a = accounts.get(id);
    accounts.delete(id);
    const back = refunded.get(r.reserve_pub) ?? 0n;
    const expected = (loads.get(r.reserve_pub) ?? 0n) - (withdrawn.get(r.reserve_pub) ?? 0n) - (paid.get(r.reserve_pub) ?? 0n) + back;
    const cur = r.currency;
    if (!a) {
      if (expected !== 0n || loads.has(r.reserve_pub) || back !== 0n) problems.push(`reserve ${r.reserve_pub} has no ledger account but loads − withdrawals − purse payments + refunds is ${money(cur, expected)}`);
      continue;
    }
    if (a.currency !== cur) problems.push(`reserve ${r.reserve_pub} is in ${cur} but its ledger account in ${a.currency}`);
    // What the ledger says may still be withdrawn (money on hold counts as gone).
    const ledger = a.credits_posted - a.debits_posted - a.debits_pending;
    if (ledger !== expected) {
      problems.push(
        `reserve ${r.reserve_pub}: the ledger holds ${money(cur, ledger)} but loads (${money(cur, loads.get(r.reserve_pub) ?? 0n)}) − withdrawals (${money(cur, withdrawn.get(r.reserve_pub) ?? 0n)}) − purse payments (${money(cur, paid.get(r.reserve_pub) ?? 0n)}) + refunds (${money(cur, back)}) is ${money(cur, expected)}`,
      );
    }
  }
  for (const id of accounts.keys()) problems.push(`ledger account ${id} belongs to no reserve`);
  return check('reserves', problems);
}

/**
 * Each purse's binding to its owner is the one both keys signed: the stored
 * registration names this key and party, and the purse key's signature over
 * them verifies (a purse re-assigned in the database shows up here).
 */
async function pursesCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  for (const r of await db.selectFrom('payment_purses').selectAll().execute()) {
    let reg: { partyId?: unknown; purseKey?: unknown; paymentServerId?: unknown };
    try {
      const jws = JSON.parse(r.registration_jws) as { payload: string };
      reg = JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload) ?? new Uint8Array())) as typeof reg;
    } catch {
      problems.push(`purse ${r.purse_key}: the stored registration cannot be read`);
      continue;
    }
    if (reg.partyId !== r.party_id || reg.purseKey !== r.purse_key || typeof reg.paymentServerId !== 'string') {
      problems.push(`purse ${r.purse_key} is recorded for ${r.party_id} but its registration names ${String(reg.partyId)} and key ${String(reg.purseKey)}`);
      continue;
    }
    const binding = { partyId: r.party_id, purseKey: r.purse_key, paymentServerId: reg.paymentServerId };
    if (!(await verifyEd25519(r.purse_key, r.purse_signature, purseRegistrationSigningBytes(binding)))) problems.push(`purse ${r.purse_key}: the purse key's signature of its binding to ${r.party_id} does not verify`);
  }
  return check('purses', problems);
}

/** Ids of the ledger transfers some check has matched with the record that explains them. */
type Claims = Set<string>;

type Incoming = PaymentBankIncomingTable & {
  /**
   * Recorded but not booked: the bank reported an amount in another currency
   * than the account's (loader.ts quarantineEntry). No ledger money moved.
   */
  quarantined: boolean;
};

/** A bounce with the ledger transfers that carry its money back. */
type BounceFacts = {
  b: PaymentBounceTable;
  hold: PaymentLedgerTransferTable | undefined;
  resolution: PaymentLedgerTransferTable | undefined;
  late: PaymentLedgerTransferTable | undefined;
  /** The money left suspense for the sender (posted, or paid late after a void). */
  paidBack: boolean;
  /** The money is on hold in suspense, to be sent. */
  held: boolean;
};

/** What the loading checks share, read once from the snapshot. */
type LoadingFacts = { incoming: Incoming[]; accountCurrency: Map<string, string>; bounces: BounceFacts[] };

async function loadingFacts(db: Db): Promise<LoadingFacts> {
  // The loader writes an account's cursor (with its currency) in the same transaction as each of its entries.
  const accountCurrency = new Map((await db.selectFrom('payment_bank_cursors').select(['bank_account', 'currency']).execute()).map((c) => [c.bank_account, c.currency]));
  const incoming = (await db.selectFrom('payment_bank_incoming').selectAll().orderBy('bank_account').orderBy('seq').execute()).map((e) => {
    const cur = accountCurrency.get(e.bank_account);
    return { ...e, quarantined: cur !== undefined && cur !== e.currency };
  });
  // Every transfer the loader makes for a bounce has an id (or resolves a hold) starting with "bounce:".
  const related = await db
    .selectFrom('payment_ledger_transfers')
    .selectAll()
    .where((eb) => eb.or([eb('id', 'like', 'bounce:%'), eb('pending_id', 'like', 'bounce:%')]))
    .execute();
  const byId = new Map(related.map((t) => [t.id, t]));
  const byPending = new Map(related.filter((t) => t.pending_id !== null).map((t) => [t.pending_id!, t]));
  const bounces = (await db.selectFrom('payment_bounces').selectAll().orderBy('bank_account').orderBy('seq').execute()).map((b) => {
    const hold = byId.get(b.id);
    const resolution = byPending.get(b.id);
    const late = byId.get(`${b.id}:sent-late`);
    return {
      b,
      hold,
      resolution,
      late,
      paidBack: resolution?.flow === 'post_pending' || late !== undefined,
      held: hold?.flow === 'pending' && resolution === undefined,
    };
  });
  return { incoming, accountCurrency, bounces };
}

/** Every incoming bank entry had one effect: a load of its amount, or a bounce of its amount; nothing else was loaded. */
async function loadsCheck(db: Db, facts: LoadingFacts, claims: Claims): Promise<AuditCheck> {
  const problems: string[] = [];
  const transfers = new Map(
    (await db.selectFrom('payment_ledger_transfers').selectAll().where((eb) => eb.or([eb('reason', '=', 'load'), eb('id', 'like', 'received:%')])).execute()).map((t) => [t.id, t]),
  );
  const bounces = new Map(facts.bounces.map((f) => [f.b.id, f.b]));
  for (const e of facts.incoming) {
    const label = `bank entry ${e.bank_account}#${e.seq} (${money(e.currency, e.amount)})`;
    const watched = facts.accountCurrency.get(e.bank_account);
    if (watched === undefined) problems.push(`${label} is on account ${e.bank_account}, which has no loader cursor`);
    const bank = ledgerAccount.bank(e.currency);
    if (e.outcome === 'credited') {
      if (e.quarantined) problems.push(`${label} was credited but the account ${e.bank_account} is in ${watched}`);
      const id = loadTransferId(e.bank_account, e.seq);
      const t = transfers.get(id);
      transfers.delete(id);
      if (t) claims.add(id);
      if (!t) problems.push(`${label} was credited but has no load transfer ${id}`);
      else if (t.amount !== e.amount || t.flow !== 'posted' || t.debit_account !== bank || t.credit_account !== ledgerAccount.reserve(e.reserve_pub ?? '')) {
        problems.push(`${label} does not match its load transfer ${id} (${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account})`);
      }
    } else {
      const id = receivedTransferId(e.bank_account, e.seq);
      const t = transfers.get(id);
      transfers.delete(id);
      if (e.quarantined) {
        // Not in the account's currency: nothing may have been booked for it.
        if (t) problems.push(`${label} is not in ${watched}, the account's currency, yet moved money (${id})`);
      } else {
        if (t) claims.add(id);
        if (!t) problems.push(`${label} was bounced but has no transfer ${id} into suspense`);
        else if (t.amount !== e.amount || t.flow !== 'posted' || t.debit_account !== bank || t.credit_account !== ledgerAccount.suspense(e.currency)) {
          problems.push(`${label} does not match its transfer ${id} into suspense (${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account})`);
        }
      }
      const b = bounces.get(bounceId(e.bank_account, e.seq));
      bounces.delete(bounceId(e.bank_account, e.seq));
      if (!b) problems.push(`${label} was bounced but has no bounce row`);
      else if (b.amount !== e.amount || b.currency !== e.currency || b.to_account !== e.counterparty) {
        problems.push(`${label} from ${e.counterparty} does not match bounce ${b.id} (${money(b.currency, b.amount)} to ${b.to_account})`);
      } else if (e.quarantined && b.state !== 'failed') {
        problems.push(`${label} is not in the account's currency ${watched}, but its bounce ${b.id} is ${b.state}, not failed`);
      }
    }
  }
  for (const id of transfers.keys()) problems.push(`ledger transfer ${id} moves money for no incoming bank entry`);
  for (const id of bounces.keys()) problems.push(`bounce ${id} returns money for no incoming bank entry`);
  return check('loads', problems);
}

/** A bounce's state agrees with its held money: pending → held (or not yet), sent → posted, failed → voided (or never held). */
function bouncesCheck(facts: LoadingFacts, claims: Claims): AuditCheck {
  const problems: string[] = [];
  for (const { b, hold, resolution: res, late } of facts.bounces) {
    for (const t of [hold, res, late]) if (t) claims.add(t.id);
    const suspense = ledgerAccount.suspense(b.currency);
    const bank = ledgerAccount.bank(b.currency);
    if (hold && (hold.flow !== 'pending' || hold.amount !== b.amount || hold.debit_account !== suspense || hold.credit_account !== bank)) {
      problems.push(`bounce ${b.id} does not match its held transfer (${hold.flow}, ${money(hold.currency, hold.amount)} ${hold.debit_account} → ${hold.credit_account})`);
    }
    if (res && !hold) problems.push(`bounce ${b.id} has a resolution ${res.id} but no held transfer`);
    if (late) {
      if (late.flow !== 'posted' || late.amount !== b.amount || late.debit_account !== suspense || late.credit_account !== bank) {
        problems.push(`bounce ${b.id} does not match its late payment ${late.id} (${late.flow}, ${money(late.currency, late.amount)} ${late.debit_account} → ${late.credit_account})`);
      }
      if (res?.flow !== 'void_pending') problems.push(`bounce ${b.id} has a late payment ${late.id} but its held money was ${res ? 'posted too' : 'never released'}`);
    }
    const sent = res?.flow === 'post_pending' || (res?.flow === 'void_pending' && late !== undefined);
    // Failed either way: refused by the bank (held, then voided), or kept at once (never held).
    const failedOk = late === undefined && (res?.flow === 'void_pending' || (hold === undefined && res === undefined));
    if (b.state === 'sent' && !sent) problems.push(`bounce ${b.id} is marked sent but its money was never posted out of suspense`);
    if (b.state === 'failed' && !failedOk) problems.push(`bounce ${b.id} is marked failed but its held money was not released`);
    if (b.state === 'pending' && res !== undefined) problems.push(`bounce ${b.id} is marked pending but its held money was ${res.flow === 'post_pending' ? 'posted' : 'voided'}`);
  }
  return check('bounces', problems);
}

type Totals = { received: bigint; bounced: bigint; paidBack: bigint; held: bigint };

/** Per currency: money the bank entries brought in, what of it went to suspense, what was paid back, what is on hold to be. */
function loadingTotals(facts: LoadingFacts): Map<string, Totals> {
  const totals = new Map<string, Totals>();
  const get = (cur: string) => {
    let t = totals.get(cur);
    if (!t) totals.set(cur, (t = { received: 0n, bounced: 0n, paidBack: 0n, held: 0n }));
    return t;
  };
  for (const e of facts.incoming) {
    if (e.quarantined) continue;
    const t = get(e.currency);
    t.received += e.amount;
    if (e.outcome === 'bounced') t.bounced += e.amount;
  }
  for (const f of facts.bounces) {
    const t = get(f.b.currency);
    if (f.paidBack) t.paidBack += f.b.amount;
    if (f.held) t.held += f.b.amount;
  }
  return totals;
}

/**
 * One mirror account per currency against the bank entries and bounces:
 * `kind` bank: balance = −(money received) + bounces paid back, holds in = bounces held;
 * `kind` suspense: balance = money bounced − bounces paid back, holds out = bounces held.
 */
async function mirrorCheck(db: Db, kind: 'bank' | 'suspense', facts: LoadingFacts, settled: SettlementTotals = new Map()): Promise<AuditCheck> {
  const problems: string[] = [];
  const totals = loadingTotals(facts);
  const accounts = new Map<string, { balance: bigint; heldOut: bigint; heldIn: bigint }>();
  for (const a of await db.selectFrom('payment_ledger_accounts').selectAll().where('kind', '=', kind).execute()) {
    const named = kind === 'bank' ? ledgerAccount.bank(a.currency) : ledgerAccount.suspense(a.currency);
    if (a.id !== named) problems.push(`${kind} account ${a.id} is not named after its currency ${a.currency}`);
    accounts.set(a.currency, { balance: a.credits_posted - a.debits_posted, heldOut: a.debits_pending, heldIn: a.credits_pending });
  }
  for (const cur of [...new Set([...totals.keys(), ...accounts.keys(), ...(kind === 'bank' ? settled.keys() : [])])].sort()) {
    const t = totals.get(cur) ?? { received: 0n, bounced: 0n, paidBack: 0n, held: 0n };
    const a = accounts.get(cur) ?? { balance: 0n, heldOut: 0n, heldIn: 0n };
    const id = `${kind}:${cur}`;
    if (kind === 'bank') {
      // Money leaves the server's bank account as bounces paid back and settlements paid out.
      const st = settled.get(cur) ?? { sent: 0n, held: 0n };
      const expected = t.paidBack + st.sent - t.received;
      if (a.balance !== expected) {
        problems.push(
          `${id} holds ${money(cur, a.balance)} but −(bank entries received ${money(cur, t.received)}) + bounces paid back (${money(cur, t.paidBack)}) + settlements paid (${money(cur, st.sent)}) is ${money(cur, expected)}`,
        );
      }
      if (a.heldIn !== t.held + st.held || a.heldOut !== 0n) {
        problems.push(`${id} has ${money(cur, a.heldIn)} on hold in and ${money(cur, a.heldOut)} out, but the bounces held (${money(cur, t.held)}) and settlements pending (${money(cur, st.held)}) come to ${money(cur, t.held + st.held)} in`);
      }
    } else {
      const expected = t.bounced - t.paidBack;
      if (a.balance !== expected) {
        problems.push(`${id} holds ${money(cur, a.balance)} but bank entries bounced (${money(cur, t.bounced)}) − bounces paid back (${money(cur, t.paidBack)}) is ${money(cur, expected)}`);
      }
      if (a.heldOut !== t.held || a.heldIn !== 0n) problems.push(`${id} has ${money(cur, a.heldOut)} on hold out and ${money(cur, a.heldIn)} in, but the bounces held come to ${money(cur, t.held)} out`);
    }
  }
  return check(kind, problems);
}

/**
 * Every ledger transfer is explained by a record another check matched it
 * with (a bank entry, a bounce, a withdrawal, a payment, a refund, a settlement), and is in the currency of both
 * its accounts. Runs last: it reads the claims of the others.
 */
async function transfersCheck(db: Db, claims: Claims): Promise<AuditCheck> {
  const problems: string[] = [];
  const currencyOf = new Map((await db.selectFrom('payment_ledger_accounts').select(['id', 'currency']).execute()).map((a) => [a.id, a.currency]));
  const transfers = await db.selectFrom('payment_ledger_transfers').select(['id', 'flow', 'debit_account', 'credit_account', 'currency', 'amount', 'reason']).orderBy('id').execute();
  for (const t of transfers) {
    const what = `ledger transfer ${t.id} (${t.flow}, ${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account}, reason "${t.reason}")`;
    if (!claims.has(t.id)) problems.push(`${what} is explained by no bank entry, bounce, withdrawal, payment, refund or settlement`);
    for (const account of [t.debit_account, t.credit_account]) {
      const cur = currencyOf.get(account);
      if (cur !== t.currency) problems.push(`${what} is in ${t.currency} but account ${account} ${cur === undefined ? 'does not exist' : `is in ${cur}`}`);
    }
  }
  return check('transfers', problems);
}

/**
 * Runs every check; `ok` only when none found a problem. Never writes: the
 * checks run in one read-only transaction (PostgreSQL: repeatable read, so
 * every read sees the same snapshot; SQLite: a deferred transaction, whose
 * first read fixes the snapshot under WAL without taking the write lock),
 * which is rolled back.
 */
export type AuditOptions = {
  /** The CA(s) refund signatures must chain to; default: the roots of the merchant contracts' chains. */
  trustAnchors?: readonly Uint8Array[];
};

export async function auditPayment(db: Db, opts: AuditOptions = {}): Promise<AuditReport> {
  return db.connection().execute(async (conn) => {
    // Before the transaction: on PostgreSQL a missing table would abort it.
    const schema = await schemaCheck(conn);
    // The other checks read tables this schema may not have.
    if (!schema.ok) return { ok: false, checks: [schema] };
    const postgres = conn.getExecutor().adapter instanceof PostgresAdapter;
    await sql.raw(postgres ? 'start transaction isolation level repeatable read, read only' : 'begin deferred').execute(conn);
    try {
      const claims: Claims = new Set();
      const facts = await loadingFacts(conn);
      const settlements = await settlementsCheck(conn, claims);
      const checks = [
        schema,
        check('ledger', await checkLedger(conn)),
        await floatCheck(conn),
        await coinsCheck(conn),
        await withdrawalsCheck(conn, claims),
        await swapsCheck(conn),
        await paymentsCheck(conn, claims),
        await refundsCheck(conn, claims, opts.trustAnchors),
        settlements.check,
        await reservesCheck(conn),
        await pursesCheck(conn),
        await loadsCheck(conn, facts, claims),
        bouncesCheck(facts, claims),
        await mirrorCheck(conn, 'bank', facts, settlements.totals),
        await mirrorCheck(conn, 'suspense', facts),
        await transfersCheck(conn, claims),
      ];
      return { ok: checks.every((c) => c.ok), checks };
    } finally {
      await sql.raw('rollback').execute(conn);
    }
  });
}
