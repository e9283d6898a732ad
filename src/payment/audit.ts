// `quittance audit`: the payment server's books checked against each other
// (DESIGN §4 "at every moment: the sum of all balances is zero, coins
// outstanding equal the e-money float, and nothing is paid twice"). Every
// check recomputes a figure from one record and compares it with another
// record that was written by a different step, so a row changed, added or
// removed behind the code's back shows up as a named problem. Reads only.
import { sql, type Kysely } from 'kysely';
import { toBigInt } from '../store/index.ts';
import type { PaymentDatabase } from './db.ts';
import { checkLedger, ledgerAccount } from './ledger.ts';
import { bounceId, loadTransferId, receivedTransferId } from './loader.ts';
import { PAYMENT_MIGRATIONS } from './migrations/index.ts';
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
async function withdrawalsCheck(db: Db): Promise<AuditCheck> {
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

/** Each reserve's ledger balance = what was loaded into it − what was withdrawn from it. */
async function reservesCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  const loads = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_bank_incoming').select(['reserve_pub', sumAs('amount')]).where('outcome', '=', 'credited').groupBy('reserve_pub').execute()) {
    if (r.reserve_pub !== null) loads.set(r.reserve_pub, toBigInt(r.s));
  }
  const withdrawn = new Map<string, bigint>();
  for (const r of await db.selectFrom('payment_withdrawals').select(['reserve_pub', sumAs('amount')]).groupBy('reserve_pub').execute()) withdrawn.set(r.reserve_pub, toBigInt(r.s));
  const accounts = new Map((await db.selectFrom('payment_ledger_accounts').selectAll().where('kind', '=', 'reserve').execute()).map((a) => [a.id, a]));
  for (const r of await db.selectFrom('payment_reserves').selectAll().execute()) {
    const id = ledgerAccount.reserve(r.reserve_pub);
    const a = accounts.get(id);
    accounts.delete(id);
    const expected = (loads.get(r.reserve_pub) ?? 0n) - (withdrawn.get(r.reserve_pub) ?? 0n);
    const cur = r.currency;
    if (!a) {
      if (expected !== 0n || loads.has(r.reserve_pub)) problems.push(`reserve ${r.reserve_pub} has no ledger account but loads − withdrawals is ${money(cur, expected)}`);
      continue;
    }
    if (a.currency !== cur) problems.push(`reserve ${r.reserve_pub} is in ${cur} but its ledger account in ${a.currency}`);
    // What the ledger says may still be withdrawn (money on hold counts as gone).
    const ledger = a.credits_posted - a.debits_posted - a.debits_pending;
    if (ledger !== expected) {
      problems.push(`reserve ${r.reserve_pub}: the ledger holds ${money(cur, ledger)} but loads (${money(cur, loads.get(r.reserve_pub) ?? 0n)}) − withdrawals (${money(cur, withdrawn.get(r.reserve_pub) ?? 0n)}) is ${money(cur, expected)}`);
    }
  }
  for (const id of accounts.keys()) problems.push(`ledger account ${id} belongs to no reserve`);
  return check('reserves', problems);
}

/** Every incoming bank entry had one effect: a load of its amount, or a bounce of its amount; nothing else was loaded. */
async function loadsCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  const transfers = new Map(
    (await db.selectFrom('payment_ledger_transfers').selectAll().where((eb) => eb.or([eb('reason', '=', 'load'), eb('id', 'like', 'received:%')])).execute()).map((t) => [t.id, t]),
  );
  const bounces = new Map((await db.selectFrom('payment_bounces').selectAll().execute()).map((b) => [b.id, b]));
  for (const e of await db.selectFrom('payment_bank_incoming').selectAll().orderBy('bank_account').orderBy('seq').execute()) {
    const label = `bank entry ${e.bank_account}#${e.seq} (${money(e.currency, e.amount)})`;
    const bank = ledgerAccount.bank(e.currency);
    if (e.outcome === 'credited') {
      const id = loadTransferId(e.bank_account, e.seq);
      const t = transfers.get(id);
      transfers.delete(id);
      if (!t) problems.push(`${label} was credited but has no load transfer ${id}`);
      else if (t.amount !== e.amount || t.flow !== 'posted' || t.debit_account !== bank || t.credit_account !== ledgerAccount.reserve(e.reserve_pub ?? '')) {
        problems.push(`${label} does not match its load transfer ${id} (${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account})`);
      }
    } else {
      const id = receivedTransferId(e.bank_account, e.seq);
      const t = transfers.get(id);
      transfers.delete(id);
      if (!t) problems.push(`${label} was bounced but has no transfer ${id} into suspense`);
      else if (t.amount !== e.amount || t.flow !== 'posted' || t.debit_account !== bank || t.credit_account !== ledgerAccount.suspense(e.currency)) {
        problems.push(`${label} does not match its transfer ${id} into suspense (${money(t.currency, t.amount)} ${t.debit_account} → ${t.credit_account})`);
      }
      const b = bounces.get(bounceId(e.bank_account, e.seq));
      bounces.delete(bounceId(e.bank_account, e.seq));
      if (!b) problems.push(`${label} was bounced but has no bounce row`);
      else if (b.amount !== e.amount || b.currency !== e.currency || b.to_account !== e.counterparty) {
        problems.push(`${label} from ${e.counterparty} does not match bounce ${b.id} (${money(b.currency, b.amount)} to ${b.to_account})`);
      }
    }
  }
  for (const id of transfers.keys()) problems.push(`ledger transfer ${id} moves money for no incoming bank entry`);
  for (const id of bounces.keys()) problems.push(`bounce ${id} returns money for no incoming bank entry`);
  return check('loads', problems);
}

/** A bounce's state agrees with its held money: pending → held, sent → posted, failed → voided. */
async function bouncesCheck(db: Db): Promise<AuditCheck> {
  const problems: string[] = [];
  const related = await db.selectFrom('payment_ledger_transfers').selectAll().where('reason', '=', 'bounce').where('id', 'not like', 'received:%').execute();
  const byId = new Map(related.map((t) => [t.id, t]));
  const resolution = new Map(related.filter((t) => t.pending_id !== null).map((t) => [t.pending_id!, t]));
  for (const b of await db.selectFrom('payment_bounces').selectAll().execute()) {
    const hold = byId.get(b.id);
    const res = resolution.get(b.id);
    const late = byId.get(`${b.id}:sent-late`);
    if (hold && (hold.flow !== 'pending' || hold.amount !== b.amount || hold.debit_account !== ledgerAccount.suspense(b.currency) || hold.credit_account !== ledgerAccount.bank(b.currency))) {
      problems.push(`bounce ${b.id} does not match its held transfer (${hold.flow}, ${money(hold.currency, hold.amount)} ${hold.debit_account} → ${hold.credit_account})`);
    }
    const sent = res?.flow === 'post_pending' || (res?.flow === 'void_pending' && late !== undefined);
    if (b.state === 'sent' && !sent) problems.push(`bounce ${b.id} is marked sent but its money was never posted out of suspense`);
    if (b.state === 'failed' && (res?.flow !== 'void_pending' || late !== undefined)) problems.push(`bounce ${b.id} is marked failed but its held money was not released`);
    if (b.state === 'pending' && res !== undefined) problems.push(`bounce ${b.id} is marked pending but its held money was ${res.flow === 'post_pending' ? 'posted' : 'voided'}`);
  }
  return check('bounces', problems);
}

/** Runs every check; `ok` only when none found a problem. Never writes. */
export async function auditPayment(db: Db): Promise<AuditReport> {
  const schema = await schemaCheck(db);
  // The other checks read tables this schema may not have.
  if (!schema.ok) return { ok: false, checks: [schema] };
  const checks = [
    schema,
    check('ledger', await checkLedger(db)),
    await floatCheck(db),
    await coinsCheck(db),
    await withdrawalsCheck(db),
    await swapsCheck(db),
    await reservesCheck(db),
    await loadsCheck(db),
    await bouncesCheck(db),
  ];
  return { ok: checks.every((c) => c.ok), checks };
}
