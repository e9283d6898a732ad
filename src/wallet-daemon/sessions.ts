// Purchase sessions: one run of buy() per payment URI, whose two questions
// (the verified merchant, then the invoice) wait for the page's answer.
//
// buy() asks through its `confirm` callback; here that callback publishes the
// prompt as the session's step and waits for POST …/answer. Nothing of the
// purchase's money state lives here: buy() stores the purchase before the
// first payment message, so a session lost with the daemon is at worst an
// unanswered prompt (nothing signed or paid), and anything paid shows in the
// history and is finished by a resume. An unanswered prompt is Cancel after
// `promptTtlMs`; a finished session is forgotten after `retainMs`.
import type { BuyEvent, BuyItem, BuyPrompt, InvoiceView, PurchaseOutcome } from '../wallet/buy.ts';
import type { PartyView } from '../wallet/purchase-checks.ts';
import { err, ok, type Result } from '../protocol/result.ts';

/** The shop as the trusted display shows it: every field from the certificate the wallet verified. */
export type TrustedShop = PartyView & {
  verified: true;
  /** Where the wallet talks to it. */
  url: string;
  /** Who issued the certificate (subject DN), and the wallet's own trusted root its path ends at. */
  ca: { issuer: string; rootFingerprint: string | null };
};

export type SessionStep =
  | { step: 'checking' }
  | { step: 'merchant'; merchant: TrustedShop; expiresAt: string }
  | { step: 'invoice'; merchant: TrustedShop; invoice: InvoiceView; expiresAt: string }
  | { step: 'paying'; merchant: TrustedShop; invoice: InvoiceView }
  | { step: 'done'; merchant: TrustedShop | null; outcome: PurchaseOutcome }
  | { step: 'cancelled'; reason: 'declined' | 'expired' | 'closed'; message: string }
  | { step: 'failed'; code: string; message: string; details?: unknown };

/** What the payment URI asked for: catalogue articles, or a shop offer (its lines come from the shop). */
export type SessionRequest = { shop: string; items: BuyItem[]; offer?: string; mode: 'ecash' | 'account'; anonymous: boolean };

export type SessionView = {
  sessionId: string;
  /** Grows with every change: `GET …?after=N&wait=S` waits for a version above N. */
  version: number;
  createdAt: string;
  request: SessionRequest;
  /** Set once the purchase is stored (after the invoice was accepted): it is in the history from then on. */
  transactionId: string | null;
} & SessionStep;

export type RunPurchase = (
  request: SessionRequest,
  confirm: (p: BuyPrompt) => Promise<boolean>,
  display: (e: BuyEvent) => void,
) => Promise<Result<PurchaseOutcome, string>>;

export type SessionDeps = {
  run: RunPurchase;
  now: () => Date;
  newId: () => string;
  /** Runs `fn` after `ms` unless the returned function is called first. */
  schedule: (ms: number, fn: () => void) => () => void;
  /** The fingerprint of the wallet's trusted CA root, for the trusted display. */
  caFingerprint: () => Promise<string | null>;
  promptTtlMs: number;
  retainMs: number;
  maxRunning: number;
  onError?: (e: unknown) => void;
};

type Pending = { kind: BuyPrompt['kind']; settle: (accept: boolean, why: 'answered' | 'expired' | 'closed') => void };

type Session = {
  id: string;
  createdAt: string;
  request: SessionRequest;
  version: number;
  state: SessionStep;
  transactionId: string | null;
  merchant: TrustedShop | null;
  pending: Pending | null;
  cancelledBy: 'expired' | 'closed' | null;
  listeners: Set<() => void>;
  running: boolean;
};

/** Kept sessions (running and finished) at most; the oldest finished go first. */
const MAX_KEPT = 256;

export type Sessions = ReturnType<typeof createSessions>;

export function createSessions(deps: SessionDeps) {
  const sessions = new Map<string, Session>();
  const running = new Set<Promise<void>>();
  let closing = false;

  const view = (s: Session): SessionView => ({ sessionId: s.id, version: s.version, createdAt: s.createdAt, request: s.request, transactionId: s.transactionId, ...s.state });

  function set(s: Session, state: SessionStep): void {
    s.state = state;
    s.version++;
    for (const l of [...s.listeners]) l();
  }

  function forgetOldFinished(): void {
    for (const s of sessions.values()) {
      if (sessions.size < MAX_KEPT) return;
      if (!s.running) sessions.delete(s.id);
    }
  }

  async function trusted(p: Extract<BuyPrompt, { kind: 'merchant' }>): Promise<TrustedShop> {
    return { ...p.merchant, verified: true, url: p.merchantUrl, ca: { issuer: p.merchant.issuer, rootFingerprint: await deps.caFingerprint() } };
  }

  function ask(s: Session, prompt: BuyPrompt): Promise<boolean> {
    if (closing) return Promise.resolve(false);
    return (async () => {
      const expiresAt = new Date(deps.now().getTime() + deps.promptTtlMs).toISOString();
      if (prompt.kind === 'merchant') s.merchant = await trusted(prompt);
      return new Promise<boolean>((resolve) => {
        const cancelTimer = deps.schedule(deps.promptTtlMs, () => s.pending?.settle(false, 'expired'));
        s.pending = {
          kind: prompt.kind,
          settle: (accept, why) => {
            cancelTimer();
            s.pending = null;
            if (why !== 'answered') s.cancelledBy = why;
            resolve(accept);
          },
        };
        if (prompt.kind === 'merchant') set(s, { step: 'merchant', merchant: s.merchant!, expiresAt });
        // The invoice is shown with the shop the shopper accepted a moment ago.
        else set(s, { step: 'invoice', merchant: s.merchant!, invoice: prompt.invoice, expiresAt });
        // Stopped while this prompt was being made: nobody will answer it.
        if (closing) s.pending.settle(false, 'closed');
      });
    })();
  }

  function finish(s: Session, r: Result<PurchaseOutcome, string>): void {
    if (r.ok) set(s, { step: 'done', merchant: s.merchant, outcome: r.value });
    else if (r.code === 'WALLET_CANCELLED') {
      const reason = s.cancelledBy ?? 'declined';
      const message = reason === 'declined' ? r.message : reason === 'expired' ? 'nobody answered in time; nothing was signed or paid' : 'the wallet daemon stopped; nothing was signed or paid';
      set(s, { step: 'cancelled', reason, message });
    } else set(s, { step: 'failed', code: r.code, message: r.message, ...(r.details !== undefined ? { details: r.details } : {}) });
  }

  async function drive(s: Session): Promise<void> {
    const confirm = (p: BuyPrompt) => ask(s, p);
    const display = (e: BuyEvent) => {
      // From here the purchase is in the history: the page may link to it.
      if (e.kind === 'stored') {
        s.transactionId = e.transactionId;
        set(s, s.state);
      }
    };
    try {
      finish(s, await deps.run(s.request, confirm, display));
    } catch (e) {
      deps.onError?.(e);
      set(s, { step: 'failed', code: 'HTTP_INTERNAL', message: 'internal error in the wallet (see the daemon log); anything stored shows in the history' });
    } finally {
      s.running = false;
      deps.schedule(deps.retainMs, () => {
        if (!s.running) sessions.delete(s.id);
      });
    }
  }

  function get(id: string): Result<SessionView, 'WALLETD_SESSION_NOT_FOUND'> {
    const s = sessions.get(id);
    return s ? ok(view(s)) : err('WALLETD_SESSION_NOT_FOUND', `no purchase session ${id} (finished ones are kept ${Math.round(deps.retainMs / 60_000)} minutes; see the history)`);
  }

  function stop(): void {
    closing = true;
    for (const s of sessions.values()) {
      s.pending?.settle(false, 'closed');
      // Long polls answer now rather than hold the server's close for up to their wait.
      for (const l of [...s.listeners]) l();
    }
  }

  return {
    get,

    start(request: SessionRequest): Result<SessionView, 'WALLETD_TOO_MANY_SESSIONS'> {
      const active = [...sessions.values()].filter((s) => s.running).length;
      if (closing || active >= deps.maxRunning) return err('WALLETD_TOO_MANY_SESSIONS', `at most ${deps.maxRunning} purchases at a time: answer or cancel one first`);
      forgetOldFinished();
      const s: Session = {
        id: deps.newId(),
        createdAt: deps.now().toISOString(),
        request,
        version: 1,
        state: { step: 'checking' },
        transactionId: null,
        merchant: null,
        pending: null,
        cancelledBy: null,
        listeners: new Set(),
        running: true,
      };
      sessions.set(s.id, s);
      const p = drive(s);
      running.add(p);
      void p.finally(() => running.delete(p));
      return ok(view(s));
    },

    /** The session once its version is above `after`, or as it is after `waitMs`. */
    async wait(id: string, after: number, waitMs: number): Promise<Result<SessionView, 'WALLETD_SESSION_NOT_FOUND'>> {
      const s = sessions.get(id);
      if (!s) return get(id);
      if (s.version <= after && waitMs > 0 && !closing) {
        await new Promise<void>((resolve) => {
          const done = () => {
            s.listeners.delete(done);
            cancel();
            resolve();
          };
          const cancel = deps.schedule(waitMs, done);
          s.listeners.add(done);
        });
      }
      return ok(view(s));
    },

    answer(id: string, accept: boolean, step: BuyPrompt['kind']): Result<SessionView, 'WALLETD_SESSION_NOT_FOUND' | 'WALLETD_SESSION_NOT_WAITING'> {
      const s = sessions.get(id);
      if (!s) return get(id);
      if (!s.pending) return err('WALLETD_SESSION_NOT_WAITING', `purchase session ${id} is at step ${s.state.step}, not waiting for an answer`);
      // An answer meant for another prompt (a stale page) must not accept this one.
      if (step !== s.pending.kind) return err('WALLETD_SESSION_NOT_WAITING', `purchase session ${id} is waiting at step ${s.pending.kind}, not ${step}`);
      const kind = s.pending.kind;
      s.pending.settle(accept, 'answered');
      // The step changes now, so the answer shows it; buy() takes over from here
      // (a Cancel ends it with WALLET_CANCELLED, whose message then replaces this one).
      if (!accept) set(s, { step: 'cancelled', reason: 'declined', message: kind === 'merchant' ? 'you did not accept the merchant; nothing was ordered' : 'you did not accept the invoice; nothing was paid' });
      else if (kind === 'merchant') set(s, { step: 'checking' });
      else set(s, { step: 'paying', merchant: s.merchant!, invoice: (s.state as Extract<SessionStep, { step: 'invoice' }>).invoice });
      return ok(view(s));
    },

    list(): SessionView[] {
      return [...sessions.values()].map(view);
    },

    /** Starts nothing more, cancels every open prompt, and answers every waiting long poll now. */
    stop,

    /** stop(), then waits for every running purchase to end (in a stored state). */
    async close(): Promise<void> {
      stop();
      await Promise.all([...running]);
    },
  };
}
