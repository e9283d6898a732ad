// History, one purchase with its documents, refunds (fig. 24 request → fig. 25
// permit → money back) and the evidence bundle as a download.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../../shared/api.ts';
import { ErrorNotice, Fields, formatTime } from '../../shared/layout.tsx';
import { formatMoney } from '../../shared/money.ts';
import { InvoiceView, OrderSheetView, ReceiptView, RefundDocuments } from './documents.tsx';
import type { PurchaseSummary, PurchaseView, RefundOutcome, WalletApi } from './wallet-api.ts';

function stateBadge(state: string) {
  const cls = state === 'COMPLETED' || state === 'REMITTED' ? 'ok' : state === 'FAILED' || state === 'REFUSED' ? 'bad' : 'warn';
  return <span class={`badge ${cls}`}>{state}</span>;
}

export function History(props: { call: WalletApi; onOpen: (tx: string) => void }) {
  const [list, setList] = useState<PurchaseSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    props.call<{ purchases: PurchaseSummary[] }>('purchases').then((r) => setList([...r.purchases].reverse()), (e: unknown) => setError(errorText(e)));
  }, []);
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <ErrorNotice error={error} />
      {list && list.length === 0 && <p class="muted">No purchases yet.</p>}
      {list && list.length > 0 && (
        <div class="table-wrap">
          <table data-testid="history">
            <thead>
              <tr>
                <th>When</th>
                <th>Shop</th>
                <th class="num">Amount</th>
                <th>Mode</th>
                <th>State</th>
                <th>
                  <span class="visually-hidden">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.purchaseId}>
                  <td class="nowrap">{formatTime(p.createdAt)}</td>
                  <td>{p.shop.name}</td>
                  <td class="num">{formatMoney(p.amount)}</td>
                  <td>
                    {p.mode}
                    {p.purchaser.kind === 'anonymous' ? ' · anonymous' : ''}
                  </td>
                  <td>{stateBadge(p.state)}</td>
                  <td>
                    <button type="button" onClick={() => props.onOpen(p.transactionId)} aria-label={`Open purchase ${p.transactionId}`}>
                      Open
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function PurchaseDetail(props: { call: WalletApi; tx: string }) {
  const { call } = props;
  const [p, setP] = useState<PurchaseView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const path = `purchases/${encodeURIComponent(props.tx)}`;
  const load = () => call<PurchaseView>(path).then(setP, (e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, [props.tx]);

  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      setNotice(await what());
      await load();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const askRefund = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const amount = (f.get('amount') ?? '').toString().trim();
    const reason = (f.get('reason') ?? '').toString().trim();
    void act(async () => {
      const r = await call<RefundOutcome>(`${path}/refunds`, { body: { ...(amount ? { amount } : {}), ...(reason ? { reason } : {}) } });
      return r.state === 'AWAITING_APPROVAL' ? `Refund of ${formatMoney(r.amount)} asked for: the shop has to approve it.` : `Refund ${formatMoney(r.amount)}: ${r.state}.`;
    });
  };

  const download = async () => {
    // The evidence needs the session token: fetched, then saved from a blob.
    const token = sessionStorage.getItem('quittance.walletToken') ?? '';
    const res = await fetch(`api/${path}/evidence`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`the evidence could not be downloaded (${res.status})`);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `quittance-evidence-${props.tx}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  if (!p) return <ErrorNotice error={error ?? null} />;
  const refundable = p.state === 'COMPLETED';
  return (
    <section aria-labelledby="purchase-title" data-testid="purchase-detail">
      <h2 id="purchase-title">
        Purchase from {p.shop.name} {stateBadge(p.state)}
      </h2>
      <ErrorNotice error={error} />
      {notice && (
        <div class="notice ok" role="status" data-testid="refund-notice">
          {notice}
        </div>
      )}
      <div class="card">
        <Fields
          rows={[
            ['Transaction id', <code>{p.transactionId}</code>],
            ['Amount', formatMoney(p.amount)],
            ['Mode', `${p.mode}${p.purchaser.kind === 'anonymous' ? ' (anonymous)' : ''}`],
            ['Shop', `${p.shop.name} (${p.shop.id})`],
            ['Shop certificate fingerprint', <code>{p.merchantFingerprint}</code>],
            ['Coins spent', String(p.coinsSpent)],
            ['Change', formatMoney(p.change)],
            ['When', formatTime(p.createdAt)],
            ...(p.lastError ? ([['Last error', p.lastError]] as [string, string][]) : []),
          ]}
        />
        <div class="actions row" style="margin-top:0.75rem">
          <button type="button" onClick={() => void download().catch((e: unknown) => setError(errorText(e)))} data-testid="evidence">
            Download the evidence
          </button>
          {p.state !== 'COMPLETED' && p.state !== 'FAILED' && (
            <button type="button" disabled={busy} onClick={() => void act(async () => (await call<PurchaseView>(`${path}/resume`, { body: {} })).state)}>
              Finish this purchase
            </button>
          )}
        </div>
      </div>
      {p.orderSheet && <OrderSheetView order={p.orderSheet} />}
      {p.invoice && <InvoiceView invoice={p.invoice} />}
      {p.receipt && <ReceiptView receipt={p.receipt} />}

      <h3>Refunds</h3>
      {p.refunds.length === 0 && <p class="muted">None asked for.</p>}
      {p.refunds.map((r) => (
        <div key={r.requestId} data-testid="refund">
          <p>
            {formatMoney(r.amount)} — {r.reason} {stateBadge(r.state)}
            {r.lastError && <span class="muted"> ({r.lastError})</span>}{' '}
            {!['COMPLETED', 'REFUSED'].includes(r.state) && (
              <button type="button" disabled={busy} onClick={() => void act(async () => (await call<RefundOutcome>(`refunds/${encodeURIComponent(r.requestId)}/resume`, { body: {} })).state)}>
                Check again
              </button>
            )}
          </p>
          <RefundDocuments refund={r} />
        </div>
      ))}
      {refundable && (
        <form class="card" onSubmit={askRefund} aria-labelledby="refund-title">
          <h4 id="refund-title" style="margin-top:0">
            Ask for money back
          </h4>
          <label for="refund-amount">Amount (empty: all that is left), e.g. {p.amount}</label>
          <input id="refund-amount" name="amount" placeholder={p.amount} pattern="[A-Z]{3}:[0-9]+(\.[0-9]+)?" />
          <label for="refund-reason">Reason</label>
          <input id="refund-reason" name="reason" maxLength={500} required />
          <div class="actions">
            <button class="primary" type="submit" disabled={busy} data-testid="refund-submit">
              Ask for the refund
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
