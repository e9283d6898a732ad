// Reserves (DESIGN §4 "loading"): a reserve is named by an Ed25519 public key
// that a shopper put as the subject of a bank transfer to the payment server.
// The loader (loader.ts) credits it; withdrawals (withdraw.ts) spend it with
// signatures by that key. Here: which subjects are reserve keys, and what a
// reserve looks like on the wire (GET /v1/reserves/:reservePub).
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { formatAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { Ed25519PublicKey, type ReserveView } from '../protocol/messages/payment.ts';
import { toBigInt } from '../store/index.ts';
import type { PaymentDatabase } from './db.ts';
import { accountBalance, ledgerAccount } from './ledger.ts';

type Db = Kysely<PaymentDatabase>;

// ---------------------------------------------------------------- reserve keys

// RFC 8032 §5.1: edwards25519, −x² + y² = 1 + d·x²·y² over GF(p).
const P = 2n ** 255n - 19n;
const D = mod(-121665n * inverse(121666n));
const SQRT_M1 = power(2n, (P - 1n) / 4n);

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function power(base: bigint, exp: bigint): bigint {
  let r = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

function inverse(a: bigint): bigint {
  return power(a, P - 2n);
}

/** RFC 8032 §5.1.3 point decoding: the affine (x, y), or undefined when the 32 bytes are no curve point. */
function decodePoint(bytes: Uint8Array): { x: bigint; y: bigint } | undefined {
  if (bytes.length !== 32) return undefined;
  // 1. Little-endian y; bit 255 is the sign of x. A y ≥ p is refused (non-canonical).
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i]! & (i === 31 ? 0x7f : 0xff));
  const x0 = (bytes[31]! & 0x80) >> 7;
  if (y >= P) return undefined;
  // 2. x² = (y² − 1) / (d·y² + 1) = u/v; candidate x = u·v³·(u·v⁷)^((p−5)/8).
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * power(v, 3n) * power(u * power(v, 7n), (P - 5n) / 8n));
  // 3. v·x² = u: a root; v·x² = −u: x·sqrt(−1) is; otherwise u/v has no square root.
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return undefined;
  // 4. x = 0 has no negative; otherwise pick the root whose low bit is x0.
  if (x === 0n && x0 === 1) return undefined;
  if (Number(x & 1n) !== x0) x = P - x;
  return { x, y };
}

/** True when [8]·(x, y) is the neutral element: a key of small order, for which anyone can forge signatures. */
function hasSmallOrder(pt: { x: bigint; y: bigint }): boolean {
  // RFC 8032 §5.1.4 doubling in extended coordinates, three times.
  let X = pt.x;
  let Y = pt.y;
  let Z = 1n;
  for (let i = 0; i < 3; i++) {
    const A = mod(X * X);
    const B = mod(Y * Y);
    const C = mod(2n * Z * Z);
    const H = mod(A + B);
    const E = mod(H - (X + Y) * (X + Y));
    const G = mod(A - B);
    const F = mod(C + G);
    X = mod(E * F);
    Y = mod(G * H);
    Z = mod(F * G);
  }
  return X === 0n && Y === Z;
}

/**
 * Why `subject` cannot name a reserve, or undefined when it can: a canonical
 * base64url Ed25519 public key that is a curve point of large order. WebCrypto
 * alone is not enough: Node imports any 32 bytes as an Ed25519 key, and a
 * reserve whose key is no point could never sign a withdrawal (the money
 * would be stuck), while one of small order could be emptied by anybody.
 */
export async function reserveKeyProblem(subject: string): Promise<string | undefined> {
  if (!Ed25519PublicKey.safeParse(subject).success) return 'the subject is not a reserve public key (32 bytes, base64url)';
  const bytes = decodeBase64url(subject)!;
  const point = decodePoint(bytes);
  if (!point) return 'the subject is not an Ed25519 public key (not a point of the curve)';
  if (hasSmallOrder(point)) return 'the subject is a weak Ed25519 key (small order)';
  try {
    await crypto.subtle.importKey('raw', bytes.slice(), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return 'the subject is not an Ed25519 public key';
  }
  return undefined;
}

// ---------------------------------------------------------------- views

async function sumOf(q: Promise<{ s: unknown } | undefined>): Promise<bigint> {
  const r = await q;
  return r?.s === null || r?.s === undefined ? 0n : toBigInt(r.s);
}

/** The reserve as GET /v1/reserves shows it, or undefined when no load reached it. */
export async function reserveView(db: Db, reservePub: string): Promise<ReserveView | undefined> {
  const reserve = await db.selectFrom('payment_reserves').selectAll().where('reserve_pub', '=', reservePub).executeTakeFirst();
  if (!reserve) return undefined;
  const account = ledgerAccount.reserve(reservePub);
  const credited = await sumOf(
    db
      .selectFrom('payment_ledger_transfers')
      .select(sql<unknown>`cast(sum(amount) as bigint)`.as('s'))
      .where('credit_account', '=', account)
      .where('reason', '=', 'load')
      .where('flow', '=', 'posted')
      .executeTakeFirst(),
  );
  const withdrawn = await sumOf(
    db.selectFrom('payment_withdrawals').select(sql<unknown>`cast(sum(amount) as bigint)`.as('s')).where('reserve_pub', '=', reservePub).executeTakeFirst(),
  );
  // What may still be withdrawn is the ledger's word (money on hold is not available).
  const balance = (await accountBalance(db, account))?.available ?? 0n;
  const cur = reserve.currency;
  return {
    reservePub,
    currency: cur,
    credited: formatAmount({ currency: cur, minor: credited }),
    withdrawn: formatAmount({ currency: cur, minor: withdrawn }),
    balance: formatAmount({ currency: cur, minor: balance < 0n ? 0n : balance }),
    createdAt: reserve.created_at,
  };
}

export const RESERVE_POLL_MS = 150;
export const RESERVE_MAX_WAIT_SECONDS = 30;

function satisfied(view: ReserveView | undefined, credited: Amount | undefined): boolean {
  if (!view) return false;
  if (!credited) return true;
  // A reserve in another currency can never reach the amount: answer now.
  if (view.currency !== credited.currency) return true;
  const got = parseAmount(view.credited);
  return got.ok && got.value.minor >= credited.minor;
}

/**
 * The reserve once it exists and has been credited at least `credited`, or
 * whatever it is after min(waitSeconds, 30) seconds. The database is looked
 * at every 150 ms, so a load by any process ends the wait; `signal` ends it
 * early (client gone, server closing).
 */
export async function waitForReserve(
  db: Db,
  reservePub: string,
  opts: { waitSeconds: number; credited?: Amount | undefined; signal?: AbortSignal; pollMs?: number },
): Promise<ReserveView | undefined> {
  // Monotonic: the injected clock may stand still in tests.
  const deadline = performance.now() + Math.min(opts.waitSeconds, RESERVE_MAX_WAIT_SECONDS) * 1000;
  for (;;) {
    const view = await reserveView(db, reservePub);
    const left = deadline - performance.now();
    if (satisfied(view, opts.credited) || left <= 0 || opts.signal?.aborted) return view;
    try {
      await sleep(Math.min(opts.pollMs ?? RESERVE_POLL_MS, left), undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      // Aborted: the next round answers with what there is.
    }
  }
}
