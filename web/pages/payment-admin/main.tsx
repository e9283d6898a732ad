// The payment console (issue 6), served by the payment server at /admin/:
// payments (fig. 13), reserves and purses, denomination keys and their
// windows, settlements (with "run now"), the notification outbox, merchants
// and the audit. Every call is a GET /v1/admin/… route with a CLI twin
// (`quittance payment payments|reserves|keys|settlements|notifications|merchants`,
// `quittance audit`, `quittance payment settle`).
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from '../../shared/api.ts';
import { Layout } from '../../shared/layout.tsx';
import { OperatorLogin, type OperatorApi } from '../../shared/login.tsx';
import { DataTable, Money, Section, ShortId, StateBadge, Time, useHashTab, useLoaded } from './console-kit.tsx';

type Payment = {
  paymentId: string;
  shopId: string;
  transactionId: string;
  purchaserId: string;
  amount: string;
  mode: string;
  state: string;
  refunded: string;
  paidAt: string | null;
  settlementId: string | null;
  createdAt: string;
};
type Reserve = { reservePub: string; currency: string; credited: string; withdrawn: string; paid?: string; refunded?: string; balance: string; createdAt: string; purseOf: string | null };
type Key = { denominationId: string; value: string; generation: number; state: string; validFrom: string; withdrawUntil: string; depositUntil: string };
type Settlement = { settlementId: string; merchantId: string; amount: string; payoutAccount: string; state: string; attempts: number; lastError: string | null; createdAt: string };
type Notification = { merchantId: string; kind: string; ref: string; event: string; state: string; attempts: number; nextAttemptAt: string; lastError: string | null; createdAt: string };
type Merchant = { merchantId: string; displayName: string; fingerprint: string; payoutAccount: string | null; notifyUrl: string | null; status: string };
type Audit = { ok: boolean; checks: { name: string; ok: boolean; problems: string[] }[] };
type Outcome = { merchantId: string; currency?: string; outcome: string; amount?: string; settlementId?: string; message?: string };

const TABS = [
  { id: 'payments', label: 'Payments' },
  { id: 'reserves', label: 'Reserves' },
  { id: 'keys', label: 'Denominations' },
  { id: 'settlements', label: 'Settlements' },
  { id: 'merchants', label: 'Merchants' },
  { id: 'audit', label: 'Audit' },
];

/** A list paged by the server's cursor: "More" appends the next page. */
function usePaged<R>(call: OperatorApi, path: string, key: 'payments' | 'reserves' | 'settlements') {
  const [extra, setExtra] = useState<{ rows: R[]; next?: string | undefined }>({ rows: [] });
  const first = useLoaded(async () => {
    setExtra({ rows: [] });
    return call<Record<string, unknown> & { next?: string }>(`${path}?limit=50`);
  }, [path]);
  const [moreError, setMoreError] = useState<string | null>(null);
  const rows = [...((first.data?.[key] as R[] | undefined) ?? []), ...extra.rows];
  const next = extra.rows.length > 0 ? extra.next : first.data?.next;
  const more = async () => {
    if (next === undefined) return;
    try {
      const page = await call<Record<string, unknown> & { next?: string }>(`${path}?limit=50&before=${encodeURIComponent(next)}`);
      setExtra((e) => ({ rows: [...e.rows, ...(page[key] as R[])], next: page.next }));
      setMoreError(null);
    } catch (e) {
      setMoreError(errorText(e));
    }
  };
  return { first, rows, next, more, moreError };
}

function MoreButton(props: { next: string | undefined; more: () => Promise<void>; error: string | null }) {
  return (
    <>
      {props.error && <div class="notice error" role="alert">{props.error}</div>}
      {props.next !== undefined && (
        <div class="actions" style="margin-top: 0.75rem">
          <button type="button" onClick={() => void props.more()}>
            More
          </button>
        </div>
      )}
    </>
  );
}

function Payments(props: { call: OperatorApi }) {
  const p = usePaged<Payment>(props.call, '/v1/admin/payments', 'payments');
  return (
    <Section title="Payments" loaded={p.first}>
      <DataTable
        caption="Payments, newest first"
        testid="payments"
        rows={p.rows}
        rowKey={(r) => r.paymentId}
        empty="No payments yet."
        columns={[
          { label: 'Created', cell: (r) => <Time iso={r.createdAt} /> },
          { label: 'Shop', cell: (r) => r.shopId },
          { label: 'Transaction', cell: (r) => <ShortId id={r.transactionId} keep={16} /> },
          { label: 'Amount', num: true, cell: (r) => <Money amount={r.amount} /> },
          { label: 'Mode', cell: (r) => r.mode },
          { label: 'State', cell: (r) => <StateBadge state={r.state} /> },
          { label: 'Refunded', num: true, cell: (r) => <Money amount={r.refunded} /> },
          { label: 'Paid at', cell: (r) => <Time iso={r.paidAt} /> },
          { label: 'Settlement', cell: (r) => (r.settlementId ? <ShortId id={r.settlementId} /> : <span class="muted">unsettled</span>) },
        ]}
      />
      <MoreButton next={p.next} more={p.more} error={p.moreError} />
    </Section>
  );
}

function Reserves(props: { call: OperatorApi }) {
  const p = usePaged<Reserve>(props.call, '/v1/admin/reserves', 'reserves');
  return (
    <Section title="Reserves and purses" loaded={p.first}>
      <DataTable
        caption="Reserves and purses with their balances"
        testid="reserves"
        rows={p.rows}
        rowKey={(r) => r.reservePub}
        empty="No reserves yet."
        columns={[
          { label: 'Reserve key', cell: (r) => <ShortId id={r.reservePub} /> },
          { label: 'Purse of', cell: (r) => r.purseOf ?? <span class="muted">—</span> },
          { label: 'Credited', num: true, cell: (r) => <Money amount={r.credited} /> },
          { label: 'Withdrawn', num: true, cell: (r) => <Money amount={r.withdrawn} /> },
          { label: 'Paid', num: true, cell: (r) => <Money amount={r.paid} /> },
          { label: 'Refunded', num: true, cell: (r) => <Money amount={r.refunded} /> },
          { label: 'Balance', num: true, cell: (r) => <strong><Money amount={r.balance} /></strong> },
          { label: 'Since', cell: (r) => <Time iso={r.createdAt} /> },
        ]}
      />
      <MoreButton next={p.next} more={p.more} error={p.moreError} />
    </Section>
  );
}

function Keys(props: { call: OperatorApi }) {
  const [all, setAll] = useState(false);
  const keys = useLoaded(() => props.call<{ keys: Key[] }>(`/v1/admin/denominations?all=${all}`), [all]);
  return (
    <Section
      title="Denomination keys"
      loaded={keys}
      actions={
        <label class="row" style="margin: 0; font-weight: 400">
          <input type="checkbox" checked={all} onChange={(e) => setAll((e.currentTarget as HTMLInputElement).checked)} style="width: auto" />
          include expired
        </label>
      }
    >
      <DataTable
        caption="Denomination keys and their validity"
        testid="keys"
        rows={keys.data?.keys ?? []}
        rowKey={(k) => k.denominationId}
        empty="No denomination keys (payment serve or payment rotate makes them)."
        columns={[
          { label: 'Value', num: true, cell: (k) => <Money amount={k.value} /> },
          { label: 'Generation', num: true, cell: (k) => k.generation },
          { label: 'State', cell: (k) => <StateBadge state={k.state} /> },
          { label: 'Valid from', cell: (k) => <Time iso={k.validFrom} /> },
          { label: 'Withdraw until', cell: (k) => <Time iso={k.withdrawUntil} /> },
          { label: 'Deposit until', cell: (k) => <Time iso={k.depositUntil} /> },
          { label: 'Key id', cell: (k) => <ShortId id={k.denominationId} /> },
        ]}
      />
    </Section>
  );
}

function Settlements(props: { call: OperatorApi }) {
  const p = usePaged<Settlement>(props.call, '/v1/admin/settlements', 'settlements');
  const [state, setState] = useState('');
  const outbox = useLoaded(() => props.call<{ notifications: Notification[] }>(`/v1/admin/notifications?limit=100${state ? `&state=${state}` : ''}`), [state]);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<{ outcomes: Outcome[]; errors: string[] } | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const run = async () => {
    if (!confirm("Pay every merchant's collected takings to its bank account now?")) return;
    setRunning(true);
    setRunError(null);
    try {
      setResult(await props.call<{ outcomes: Outcome[]; errors: string[] }>('/v1/admin/settlements/run', { method: 'POST', body: {} }));
      p.first.reload();
    } catch (e) {
      setRunError(errorText(e));
    } finally {
      setRunning(false);
    }
  };
  return (
    <>
      <Section
        title="Settlements"
        loaded={p.first}
        actions={
          <button type="button" class="primary" onClick={() => void run()} disabled={running}>
            {running ? 'Running…' : 'Run settlement now'}
          </button>
        }
      >
        {runError && <div class="notice error" role="alert">{runError}</div>}
        {result && (
          <div class={`notice ${result.errors.length > 0 || result.outcomes.some((o) => o.outcome === 'failed') ? 'warn' : 'ok'}`} role="status" data-testid="settle-result">
            {result.outcomes.length === 0 ? 'No merchants to settle.' : result.outcomes.map((o) => <div key={`${o.merchantId}-${o.currency ?? ''}`}>{o.merchantId} {o.currency ?? ''}: {o.outcome} {o.amount ? <Money amount={o.amount} /> : null} {o.message ? `(${o.message})` : ''}</div>)}
            {result.errors.map((e) => <div key={e}>error: {e}</div>)}
          </div>
        )}
        <DataTable
          caption="Settlements, newest first"
          testid="settlements"
          rows={p.rows}
          rowKey={(r) => r.settlementId}
          empty="No settlements yet."
          columns={[
            { label: 'Created', cell: (r) => <Time iso={r.createdAt} /> },
            { label: 'Merchant', cell: (r) => r.merchantId },
            { label: 'Amount', num: true, cell: (r) => <Money amount={r.amount} /> },
            { label: 'State', cell: (r) => <StateBadge state={r.state} /> },
            { label: 'Payout account', cell: (r) => <code>{r.payoutAccount}</code> },
            { label: 'Attempts', num: true, cell: (r) => r.attempts },
            { label: 'Last error', cell: (r) => r.lastError ?? '' },
            { label: 'Id', cell: (r) => <ShortId id={r.settlementId} /> },
          ]}
        />
        <MoreButton next={p.next} more={p.more} error={p.moreError} />
      </Section>
      <Section
        title="Notifications to merchants"
        loaded={outbox}
        actions={
          <>
            <label for="outbox-state" class="visually-hidden">
              State
            </label>
            <select id="outbox-state" value={state} onChange={(e) => setState((e.currentTarget as HTMLSelectElement).value)} style="width: auto">
              <option value="">all states</option>
              <option value="pending">pending</option>
              <option value="delivered">delivered</option>
              <option value="failed">failed</option>
            </select>
          </>
        }
      >
        <DataTable
          caption="Notification outbox, newest first"
          testid="notifications"
          rows={outbox.data?.notifications ?? []}
          rowKey={(n) => `${n.merchantId}/${n.kind}/${n.ref}/${n.event}`}
          empty="No notifications."
          columns={[
            { label: 'Created', cell: (n) => <Time iso={n.createdAt} /> },
            { label: 'Merchant', cell: (n) => n.merchantId },
            { label: 'What', cell: (n) => `${n.kind} ${n.event}` },
            { label: 'Reference', cell: (n) => <ShortId id={n.ref} keep={16} /> },
            { label: 'State', cell: (n) => <StateBadge state={n.state} /> },
            { label: 'Attempts', num: true, cell: (n) => n.attempts },
            { label: 'Next attempt', cell: (n) => (n.state === 'pending' ? <Time iso={n.nextAttemptAt} /> : '') },
            { label: 'Last error', cell: (n) => n.lastError ?? '' },
          ]}
        />
      </Section>
    </>
  );
}

function Merchants(props: { call: OperatorApi }) {
  const m = useLoaded(() => props.call<{ merchants: Merchant[] }>('/v1/admin/merchants'), []);
  return (
    <Section title="Merchants" loaded={m}>
      <DataTable
        caption="Merchants under contract"
        testid="merchants"
        rows={m.data?.merchants ?? []}
        rowKey={(r) => r.merchantId}
        empty="No merchants (quittance payment add-merchant)."
        columns={[
          { label: 'Merchant', cell: (r) => r.merchantId },
          { label: 'Name', cell: (r) => r.displayName },
          { label: 'Status', cell: (r) => <StateBadge state={r.status} /> },
          { label: 'Payout account', cell: (r) => (r.payoutAccount ? <code>{r.payoutAccount}</code> : <span class="muted">none</span>) },
          { label: 'Notified at', cell: (r) => r.notifyUrl ?? <span class="muted">asks only</span> },
          { label: 'Certificate SHA-256', cell: (r) => <ShortId id={r.fingerprint} keep={16} /> },
        ]}
      />
    </Section>
  );
}

function AuditView(props: { call: OperatorApi }) {
  const a = useLoaded(() => props.call<Audit>('/v1/admin/audit'), []);
  const report = a.data;
  return (
    <Section title="Audit of the books" loaded={a}>
      {report && (
        <>
          <div class={`notice ${report.ok ? 'ok' : 'error'}`} role="status" data-testid="audit-summary">
            {report.ok ? `Sound: all ${report.checks.length} checks passed.` : `${report.checks.filter((c) => !c.ok).length} of ${report.checks.length} checks FAILED.`}
          </div>
          <ul class="checks" data-testid="audit-checks" style="list-style: none; padding: 0; margin: 0">
            {report.checks.map((c) => (
              <li key={c.name} style="padding: 0.35rem 0; border-bottom: 1px solid var(--line)">
                <StateBadge state={c.ok ? 'ok' : 'FAILED'} /> <strong>{c.name}</strong>
                {c.problems.length > 0 && (
                  <ul>
                    {c.problems.map((p) => (
                      <li key={p}>{p}</li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </Section>
  );
}

function Console(props: { call: OperatorApi; logout: () => void; tab: string }) {
  return (
    <>
      <div class="row">
        <span class="spacer" />
        <button type="button" onClick={props.logout}>
          Log out
        </button>
      </div>
      {props.tab === 'payments' && <Payments call={props.call} />}
      {props.tab === 'reserves' && <Reserves call={props.call} />}
      {props.tab === 'keys' && <Keys call={props.call} />}
      {props.tab === 'settlements' && <Settlements call={props.call} />}
      {props.tab === 'merchants' && <Merchants call={props.call} />}
      {props.tab === 'audit' && <AuditView call={props.call} />}
    </>
  );
}

function App() {
  const tab = useHashTab(TABS.map((t) => t.id));
  return (
    <Layout party="Payment server" title="Payment console" current={tab} nav={TABS}>
      <OperatorLogin party="payment server" check="/v1/admin/merchants">
        {(call, logout) => <Console call={call} logout={logout} tab={tab} />}
      </OperatorLogin>
    </Layout>
  );
}

render(<App />, document.getElementById('app')!);
