// Withdrawal (DESIGN §4): a reserve key spends what was loaded into its
// reserve on blind signatures, one per envelope; the money moves
// reserve:PUB → float:CUR (e-money now outstanding).
//
// Pipeline: reserve signature → earlier request with this id (replay or
// conflict) → reserve → envelopes (denomination, currency, range, not signed
// before) → sign (CPU, no transaction open) → ONE transaction: the request
// row, the ledger transfer, every issued envelope. A failure anywhere in it
// leaves nothing behind.
//
// Idempotency: (reserve_pub, request_id) is the withdrawal's primary key and
// the wallet derives every envelope from its seed, so a withdrawal cut off by
// a crash is sent again byte for byte and answered with the stored
// signatures; the reserve is debited once. Two copies racing each other both
// reach the transaction; the loser's insert of the request row fails (on
// PostgreSQL it waits for the winner's commit first), its transaction rolls
// back, and it looks again and finds the winner's answer.
import type { Kysely } from 'kysely';
import { verifyEd25519 } from '../protocol/ed25519.ts';
import { withdrawSigningBytes, type BlindSignaturesResponse, type WithdrawRequest } from '../protocol/messages/payment.ts';
import { err, ok, type Err, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import type { PaymentDatabase } from './db.ts';
import type { PaymentDeps } from './deps.ts';
import { checkEnvelopes, insertIssuedEnvelopes, issuedSignatures, refuseReusedEnvelopes, sha256Hex, signEnvelopes, totalValue, type IssueOutcome } from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { accountBalance, ensureAccount, ledgerAccount, postTransfer } from './ledger.ts';

type Db = Kysely<PaymentDatabase>;

export type WithdrawDeps = Pick<PaymentDeps, 'db' | 'clock' | 'wrapKey' | 'caches' | 'isUniqueViolation'>;

/** Rolls back the transaction and becomes the request's coded answer. */
class Refusal extends Error {
  readonly result: Err<PayHttpErrorCode>;
  constructor(result: Err<PayHttpErrorCode>) {
    super(result.message);
    this.result = result;
  }
}

/** Races lost to another request before the answer is settled (each loss means another request committed). */
const MAX_RACES = 3;

export const withdrawTransferId = (reservePub: string, requestId: string) => `withdraw:${reservePub}:${requestId}`;
export const withdrawSourceId = (reservePub: string, requestId: string) => `${reservePub}/${requestId}`;

async function earlierWithdrawal(db: Db, reservePub: string, requestId: string, requestHash: string): Promise<Result<IssueOutcome<BlindSignaturesResponse>, PayHttpErrorCode> | undefined> {
  const row = await db.selectFrom('payment_withdrawals').select('request_hash').where('reserve_pub', '=', reservePub).where('request_id', '=', requestId).executeTakeFirst();
  if (!row) return undefined;
  if (row.request_hash !== requestHash) return err('PAY_REQUEST_CONFLICT', 'this request id was already used for another withdrawal from this reserve');
  const blindSignatures = await issuedSignatures(db, 'withdraw', withdrawSourceId(reservePub, requestId));
  return ok({ response: { requestId, blindSignatures }, replay: true });
}

/** POST /v1/reserves/:reservePub/withdraw, after the schema. */
export async function withdraw(deps: WithdrawDeps, request: WithdrawRequest): Promise<Result<IssueOutcome<BlindSignaturesResponse>, PayHttpErrorCode>> {
  const { requestId, reservePub, reserveSignature } = request;
  const envelopes = request.envelopes.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage }));
  const signed = withdrawSigningBytes({ requestId, reservePub, envelopes });
  if (!(await verifyEd25519(reservePub, reserveSignature, signed))) return err('PAY_RESERVE_SIGNATURE_INVALID', 'the withdrawal is not signed by the reserve key');
  const requestHash = sha256Hex(signed);

  const earlier = await earlierWithdrawal(deps.db, reservePub, requestId, requestHash);
  if (earlier) return earlier;
  // A copy of this request may commit while this one is being checked; a
  // refusal its effects explain (the balance gone, the envelopes signed) is
  // then a replay. Its row and its envelopes commit together, so seeing either
  // means seeing the row.
  const orReplay = async (refusal: Err<PayHttpErrorCode>) => (await earlierWithdrawal(deps.db, reservePub, requestId, requestHash)) ?? refusal;
  const reserve = await deps.db.selectFrom('payment_reserves').select('currency').where('reserve_pub', '=', reservePub).executeTakeFirst();
  if (!reserve) return err('PAY_RESERVE_UNKNOWN', 'no money has been loaded into this reserve');
  const currency = reserve.currency;
  const now = deps.clock();
  const checked = await checkEnvelopes(deps, envelopes, currency, now);
  if (!checked.ok) return checked;
  const reused = await refuseReusedEnvelopes(deps.db, checked.value);
  if (!reused.ok) return orReplay(reused);
  const amount = totalValue(checked.value);
  const reserveAccount = ledgerAccount.reserve(reservePub);
  const floatAccount = ledgerAccount.float(currency);
  const insufficient = err('PAY_RESERVE_INSUFFICIENT', 'the envelopes are worth more than the reserve holds');
  // Not the guard (the conditional debit below is): it spares the RSA work
  // for a request that cannot succeed.
  if (((await accountBalance(deps.db, reserveAccount))?.available ?? 0n) < amount) return orReplay(insufficient);

  const signatures = signEnvelopes(checked.value);
  if (!signatures.ok) return signatures;

  for (let race = 1; ; race++) {
    try {
      await withRetry(() =>
        deps.db.transaction().execute(async (trx) => {
          // First, so a concurrent copy of this request waits here and then fails before touching the ledger.
          await trx.insertInto('payment_withdrawals').values({ reserve_pub: reservePub, request_id: requestId, request_hash: requestHash, currency, amount, created_at: now.toISOString() }).execute();
          await ensureAccount(trx, reserveAccount, currency, 'reserve', now);
          await ensureAccount(trx, floatAccount, currency, 'float', now);
          const moved = await postTransfer(trx, { id: withdrawTransferId(reservePub, requestId), debit: reserveAccount, credit: floatAccount, currency, amount, reason: 'withdraw' }, now);
          if (!moved) throw new Refusal(insufficient);
          await insertIssuedEnvelopes(trx, 'withdraw', withdrawSourceId(reservePub, requestId), checked.value, signatures.value, now);
        }),
      );
      return ok({ response: { requestId, blindSignatures: signatures.value }, replay: false });
    } catch (e) {
      if (e instanceof Refusal) return e.result;
      if (!deps.isUniqueViolation(e) || race >= MAX_RACES) throw e;
      // Another request committed first (PostgreSQL aborted ours, so look outside it):
      // this very request (replay), or one that signed one of our envelopes.
      const reusedNow = await refuseReusedEnvelopes(deps.db, checked.value);
      if (!reusedNow.ok) return orReplay(reusedNow);
      const again = await earlierWithdrawal(deps.db, reservePub, requestId, requestHash);
      if (again) return again;
      // The winner rolled back after all: try once more.
    }
  }
}
