// Paying a payment URI (#pay=…): the daemon runs the purchase and stops at two
// questions. First the trusted display (the shop's verified certificate), then
// the invoice with OK / Cancel, then the receipt. A failed check is a hard
// stop: a red panel with the reason and the code, and nothing to accept.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorText } from '../../shared/api.ts';
import { ErrorNotice, formatTime } from '../../shared/layout.tsx';
import { formatMoney } from '../../shared/money.ts';
import { InvoiceView, ReceiptView, TrustedDisplay } from './documents.tsx';
import type { Session, WalletApi } from './wallet-api.ts';

/** How long one long poll waits for the next step (the daemon allows up to 30 s). */
const WAIT_SECONDS = 25;

export function PayFlow(props: { call: WalletApi; uri?: string; sessionId?: string; onSession: (id: string) => void; onOpenPurchase: (tx: string) => void }) {
  const { call } = props;
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mode, setMode] = useState<'ecash' | 'account'>('ecash');
  const [anonymous, setAnonymous] = useState(false);
  const started = useRef(false);

  // Follow the session: one long poll after another until it ends.
  useEffect(() => {
    if (!session) return;
    if (['done', 'cancelled', 'failed'].includes(session.step)) return;
    const abort = new AbortController();
    call<Session>(`payments/${encodeURIComponent(session.sessionId)}?after=${session.version}&wait=${WAIT_SECONDS}`, { signal: abort.signal })
      .then((s) => setSession(s))
      .catch((e: unknown) => {
        if ((e as Error).name !== 'AbortError') setError(errorText(e));
      });
    return () => abort.abort();
  }, [session?.sessionId, session?.version]);

  // A reload shows the same session again rather than starting another purchase.
  useEffect(() => {
    if (props.sessionId && !started.current) {
      started.current = true;
      call<Session>(`payments/${encodeURIComponent(props.sessionId)}`).then(setSession, (e: unknown) => setError(errorText(e)));
    }
  }, [props.sessionId]);

  const start = async () => {
    if (!props.uri) return;
    setBusy(true);
    setError(null);
    try {
      const s = await call<Session>('payments', { body: { uri: props.uri, mode, anonymous } });
      setSession(s);
      props.onSession(s.sessionId);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const answer = async (accept: boolean) => {
    if (!session || (session.step !== 'merchant' && session.step !== 'invoice')) return;
    setBusy(true);
    try {
      setSession(await call<Session>(`payments/${encodeURIComponent(session.sessionId)}/answer`, { body: { accept, step: session.step } }));
    } catch (e) {
      setError(errorText(e));
      // The prompt may have moved on (expired, answered elsewhere): show it as it is now.
      if (e instanceof ApiError && e.status === 409) setSession(await call<Session>(`payments/${encodeURIComponent(session.sessionId)}`));
    } finally {
      setBusy(false);
    }
  };

  if (!session) {
    return (
      <section class="card" aria-labelledby="pay-title">
        <h2 id="pay-title" style="margin-top:0">
          Pay
        </h2>
        <ErrorNotice error={error} />
        {props.uri ? (
          <>
            <p>A shop asks you to pay:</p>
            <p>
              <code data-testid="pay-uri">{props.uri}</code>
            </p>
            <p class="muted">Your wallet will first check who the shop is and show you its certificate, then the invoice. Nothing is signed or paid before you accept.</p>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void start();
              }}
            >
              <label for="pay-mode">Pay with</label>
              <select id="pay-mode" value={mode} onChange={(e) => setMode((e.currentTarget as HTMLSelectElement).value as 'ecash' | 'account')}>
                <option value="ecash">e-money (coins in this wallet)</option>
                <option value="account">my purse at the payment server</option>
              </select>
              <label style="font-weight:normal">
                <input type="checkbox" style="width:auto" checked={anonymous} disabled={mode === 'account'} onChange={(e) => setAnonymous((e.currentTarget as HTMLInputElement).checked)} /> anonymous (a fresh key for this
                order; the shop does not learn who you are)
              </label>
              <div class="actions">
                <button class="primary" type="submit" disabled={busy} data-testid="pay-start">
                  Check the shop
                </button>
              </div>
            </form>
          </>
        ) : (
          <p class="muted">Loading the purchase…</p>
        )}
      </section>
    );
  }

  return (
    <div data-testid={`pay-step-${session.step}`}>
      <ErrorNotice error={error} />
      {session.step === 'checking' && (
        <div class="notice" role="status">
          Checking the shop's certificate and documents…
        </div>
      )}
      {session.step === 'merchant' && (
        <>
          <TrustedDisplay shop={session.merchant} />
          <p>Is this the shop you mean to buy from? Answer by {formatTime(session.expiresAt)}.</p>
          <div class="row">
            <button class="primary" type="button" disabled={busy} onClick={() => void answer(true)} data-testid="accept-merchant">
              Yes, continue
            </button>
            <button type="button" disabled={busy} onClick={() => void answer(false)} data-testid="cancel">
              Cancel
            </button>
          </div>
        </>
      )}
      {session.step === 'invoice' && (
        <>
          <TrustedDisplay shop={session.merchant} />
          <InvoiceView invoice={session.invoice} />
          <p>
            Pay <strong>{formatMoney(session.invoice.amount)}</strong> to {session.invoice.shop.name}? Answer by {formatTime(session.expiresAt)}.
          </p>
          <div class="row">
            <button class="primary" type="button" disabled={busy} onClick={() => void answer(true)} data-testid="accept-invoice">
              OK — pay {formatMoney(session.invoice.amount)}
            </button>
            <button type="button" disabled={busy} onClick={() => void answer(false)} data-testid="cancel">
              Cancel
            </button>
          </div>
        </>
      )}
      {session.step === 'paying' && (
        <div class="notice" role="status">
          Paying {formatMoney(session.invoice.amount)} to {session.invoice.shop.name}…
        </div>
      )}
      {session.step === 'done' && (
        <>
          <div class="notice ok" role="status" data-testid="paid">
            Paid. The shop {session.outcome.completion === 'stored' ? 'confirmed the order' : 'has the receipt'}; change: {formatMoney(session.outcome.change)}.
          </div>
          <ReceiptView receipt={session.outcome.receipt} />
          <button type="button" onClick={() => props.onOpenPurchase(session.outcome.transactionId)} data-testid="open-purchase">
            Open the purchase
          </button>
        </>
      )}
      {session.step === 'cancelled' && (
        <div class="notice warn" role="status" data-testid="cancelled">
          Cancelled: {session.message}
        </div>
      )}
      {session.step === 'failed' && (
        <section class="hard-stop" role="alert" data-testid="hard-stop">
          <h2>✖ Stopped: do not pay</h2>
          <p style="font-size:1.1rem">{session.message}</p>
          <p>
            Check that failed: <code data-testid="hard-stop-code">{session.code}</code>
          </p>
          <p>Nothing more was signed or paid by this step. {session.transactionId ? 'The purchase is in your history.' : ''}</p>
        </section>
      )}
    </div>
  );
}
