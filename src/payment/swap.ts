// Swap, i.e. change (DESIGN §4): spend coins, receive blind signatures on
// envelopes of exactly the same total, e.g. one coin of 8 for coins of 4, 2,
// 1 and 1 before a payment of 3.
//
// Pipeline: every coin's key signed the swap → earlier swap with this id
// (replay or conflict; before any time window, so a swap cut off by a crash
// is answered even after its keys stopped signing) → coins (depositable, one
// currency, genuine) → envelopes (withdrawable, same currency, not signed
// before) → balance → coins not spent → sign (CPU, no transaction open) →
// ONE transaction: the swap row, every coin spent, every envelope issued.
//
// The double-spend guard is payment_spent_coins' primary key, written in that
// transaction: of any number of swaps racing with one coin exactly one
// commits; the others fail on the insert, roll back entirely and answer
// PAY_COIN_SPENT after looking again.
import type { Kysely } from 'kysely';
import { swapSigningBytes, type BlindSignaturesResponse, type SwapRequest } from '../protocol/messages/payment.ts';
import { err, ok, type Err, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import { checkCoins, insertSpentCoins, refuseSpentCoins, verifyCoinOwnership, type CheckedCoin } from './coins.ts';
import type { PaymentDatabase } from './db.ts';
import type { PaymentDeps } from './deps.ts';
import { checkEnvelopes, insertIssuedEnvelopes, issuedSignatures, refuseReusedEnvelopes, sha256Hex, signEnvelopes, totalValue, type CheckedEnvelope, type IssueOutcome } from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';

type Db = Kysely<PaymentDatabase>;

export type SwapDeps = Pick<PaymentDeps, 'db' | 'clock' | 'wrapKey' | 'caches' | 'isUniqueViolation'>;

/** Races lost to another request before the answer is settled (each loss means another request committed). */
const MAX_RACES = 3;

async function earlierSwap(db: Db, swapId: string, requestHash: string): Promise<Result<IssueOutcome<BlindSignaturesResponse>, PayHttpErrorCode> | undefined> {
  const row = await db.selectFrom('payment_swaps').select('request_hash').where('swap_id', '=', swapId).executeTakeFirst();
  if (!row) return undefined;
  if (row.request_hash !== requestHash) return err('PAY_REQUEST_CONFLICT', 'this swap id was already used for another swap');
  return ok({ response: { requestId: swapId, blindSignatures: await issuedSignatures(db, 'swap', swapId) }, replay: true });
}

/**
 * What committed requests say about this one: a coin spent or an envelope
 * signed already refuses it, unless it was this very swap that did so (a copy
 * of it committed meanwhile; its row, coins and envelopes commit together, so
 * seeing one means seeing the row): then it is a replay. Undefined when
 * nothing committed stands in the way.
 */
async function settled(db: Db, swapId: string, requestHash: string, coins: readonly CheckedCoin[], envelopes: readonly CheckedEnvelope[]): Promise<Result<IssueOutcome<BlindSignaturesResponse>, PayHttpErrorCode> | undefined> {
  const spent = await refuseSpentCoins(db, coins);
  const refusal = spent.ok ? await refuseReusedEnvelopes(db, envelopes) : spent;
  if (refusal.ok) return earlierSwap(db, swapId, requestHash);
  return (await earlierSwap(db, swapId, requestHash)) ?? refusal;
}

/** POST /v1/swap, after the schema. */
export async function swap(deps: SwapDeps, request: SwapRequest): Promise<Result<IssueOutcome<BlindSignaturesResponse>, PayHttpErrorCode>> {
  const { swapId } = request;
  // Copies: what is verified is what is stored.
  const coins = request.coins.map((c) => ({ coinPub: c.coinPub, denominationId: c.denominationId, denominationSignature: c.denominationSignature, coinSignature: c.coinSignature }));
  const envelopes = request.envelopes.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage }));
  const signed = swapSigningBytes({ swapId, coins, envelopes });
  const owned = await verifyCoinOwnership(coins, signed);
  if (!owned.ok) return owned;
  const requestHash = sha256Hex(signed);

  const earlier = await earlierSwap(deps.db, swapId, requestHash);
  if (earlier) return earlier;
  const now = deps.clock();
  // A twin of this swap may commit while this one is checked (a key window may
  // even close in between): a refusal is then a replay.
  const refuse = async (r: Err<PayHttpErrorCode>) => (await earlierSwap(deps.db, swapId, requestHash)) ?? r;
  const checkedCoins = await checkCoins(deps, coins, now);
  if (!checkedCoins.ok) return refuse(checkedCoins);
  const currency = checkedCoins.value[0]!.currency;
  const checkedEnvelopes = await checkEnvelopes(deps, envelopes, currency, now);
  if (!checkedEnvelopes.ok) return refuse(checkedEnvelopes);
  const amount = totalValue(checkedCoins.value);
  const issued = totalValue(checkedEnvelopes.value);
  if (issued !== amount) return refuse(err('PAY_SWAP_UNBALANCED', `the coins are worth ${amount} and the envelopes ${issued} (minor units of ${currency})`));
  const refused = await settled(deps.db, swapId, requestHash, checkedCoins.value, checkedEnvelopes.value);
  if (refused) return refused;

  const signatures = signEnvelopes(checkedEnvelopes.value);
  if (!signatures.ok) return signatures;

  for (let race = 1; ; race++) {
    try {
      await withRetry(() =>
        deps.db.transaction().execute(async (trx) => {
          await trx.insertInto('payment_swaps').values({ swap_id: swapId, request_hash: requestHash, currency, amount, created_at: now.toISOString() }).execute();
          await insertSpentCoins(trx, checkedCoins.value, 'swap', swapId, now);
          await insertIssuedEnvelopes(trx, 'swap', swapId, checkedEnvelopes.value, signatures.value, now);
          // No ledger transfer: the float is the value of issued envelopes
          // minus that of spent coins, and a swap adds as much to the one as
          // to the other (checked above), so float:CUR stays right as it is.
        }),
      );
      return ok({ response: { requestId: swapId, blindSignatures: signatures.value }, replay: false });
    } catch (e) {
      if (!deps.isUniqueViolation(e) || race >= MAX_RACES) throw e;
      // PostgreSQL aborted the transaction on the violation: look outside it.
      const answer = await settled(deps.db, swapId, requestHash, checkedCoins.value, checkedEnvelopes.value);
      if (answer) return answer;
    }
  }
}
