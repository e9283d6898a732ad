// The shop's dashboard (merchant server, /admin/): orders (fig. 11) with their
// states, one order's lines (fig. 12) and refunds, refunds awaiting approval
// (approve / refuse), settlement reports. Operator login with the token the
// admin API and `quittance merchant …` take; every call here has a CLI twin.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../../shared/api.ts';
import { ErrorNotice, Fields, formatTime, Layout } from '../../shared/layout.tsx';
import { LinesTable } from '../../shared/lines.tsx';
import { OperatorLogin, type OperatorApi } from '../../shared/login.tsx';
import { formatMoney } from '../../shared/money.ts';

const API = new URL('../v1/admin/', location.href).href;

type Order = { transactionId: string; orderId: string; purchaserId: string; purchaserKind: string; amount: string; paymentMode: string; state: string; refunded: string; billTime: string; paidAt?: string };
type Refund = { requestId: string; transactionId: string; amount: string; reason: string; state: string; permitId?: string; refusalReason?: string; createdAt: string };
type OrderDetail = Order & { lines: { article: string; name: string; quantity: number; unitPrice: string }[]; paymentServerId: string; paymentDueTime: string; refundDeadline: string; invoiceHash: string; refunds: Refund[] };
type Settlement = { settlementId: string; amount: string; payoutAccount: string; time: string; items: { transactionId?: string; amount?: string; [k: string]: unknown }[] };

const STATE_CLASS: Record<string, string> = { PAID: 'ok', UNPAID: 'warn', DURING_REPAYMENT: 'warn', PARTIALLY_REFUNDED: 'warn', REFUNDED: 'bad' };
const badge = (s: string) => <span class={`badge ${STATE_CLASS[s] ?? ''}`}>{s}</span>;

type Tab = 'orders' | 'refunds' | 'settlements';

function Orders(props: { call: OperatorApi; onOpen: (tx: string) => void }) {
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => props.call<{ orders: Order[] }>(`${API}orders`).then((r) => setOrders(r.orders), (e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);
  return (
    <section aria-labelledby="orders-title">
      <div class="row">
        <h2 id="orders-title">Orders (fig. 11)</h2>
        <span class="spacer" />
        <button type="button" onClick={() => void load()}>
          Reload
        </button>
      </div>
      <ErrorNotice error={error} />
      {orders && orders.length === 0 && <p class="muted">No orders yet.</p>}
      {orders && orders.length > 0 && (
        <div class="table-wrap">
          <table data-testid="orders">
            <thead>
              <tr>
                <th>Billed</th>
                <th>Transaction</th>
                <th>Purchaser</th>
                <th class="num">Amount</th>
                <th>Mode</th>
                <th>State</th>
                <th class="num">Refunded</th>
                <th>
                  <span class="visually-hidden">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {orders.map((o) => (
                <tr key={o.transactionId} data-testid={`order-${o.transactionId}`}>
                  <td class="nowrap">{formatTime(o.billTime)}</td>
                  <td>
                    <code>{o.transactionId}</code>
                  </td>
                  <td>
                    <code>{o.purchaserId.slice(0, 24)}</code> <span class="muted">{o.purchaserKind}</span>
                  </td>
                  <td class="num">{formatMoney(o.amount)}</td>
                  <td>{o.paymentMode}</td>
                  <td data-testid="order-state">{badge(o.state)}</td>
                  <td class="num">{formatMoney(o.refunded)}</td>
                  <td>
                    <button type="button" onClick={() => props.onOpen(o.transactionId)} aria-label={`Open order ${o.transactionId}`}>
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

function RefundActions(props: { call: OperatorApi; refund: Refund; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const base = `${API}orders/${encodeURIComponent(props.refund.transactionId)}/repayments/${encodeURIComponent(props.refund.requestId)}`;
  const act = (path: string, body: unknown) => {
    setBusy(true);
    props
      .call(`${base}/${path}`, { body })
      .then(props.onDone, (e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };
  if (props.refund.state !== 'awaiting-approval') return null;
  return (
    <div>
      <ErrorNotice error={error} />
      <form
        class="row"
        onSubmit={(ev) => {
          ev.preventDefault();
          const reason = (new FormData(ev.currentTarget as HTMLFormElement).get('reason') ?? '').toString().trim();
          act('refuse', { reason });
        }}
      >
        <button class="primary" type="button" disabled={busy} onClick={() => act('approve', {})}>
          Approve
        </button>
        <label class="visually-hidden" for={`refuse-${props.refund.requestId}`}>
          Reason for refusing
        </label>
        <input id={`refuse-${props.refund.requestId}`} name="reason" required placeholder="reason for refusing" style="max-width:16rem" />
        <button class="danger" type="submit" disabled={busy}>
          Refuse
        </button>
      </form>
    </div>
  );
}

function RefundsTable(props: { call: OperatorApi; refunds: Refund[]; onChange: () => void; onOpen?: (tx: string) => void }) {
  return (
    <div class="table-wrap">
      <table data-testid="refunds">
        <thead>
          <tr>
            <th>Asked</th>
            <th>Order</th>
            <th class="num">Amount</th>
            <th>Reason</th>
            <th>State</th>
            <th>Decision</th>
          </tr>
        </thead>
        <tbody>
          {props.refunds.map((r) => (
            <tr key={r.requestId}>
              <td class="nowrap">{formatTime(r.createdAt)}</td>
              <td>{props.onOpen ? <button type="button" onClick={() => props.onOpen!(r.transactionId)}>{r.transactionId.slice(0, 14)}…</button> : <code>{r.transactionId}</code>}</td>
              <td class="num">{formatMoney(r.amount)}</td>
              <td>{r.reason}</td>
              <td>
                <span class="badge">{r.state}</span>
                {r.refusalReason && <div class="muted">{r.refusalReason}</div>}
              </td>
              <td>
                <RefundActions call={props.call} refund={r} onDone={props.onChange} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Refunds(props: { call: OperatorApi; onOpen: (tx: string) => void }) {
  const [refunds, setRefunds] = useState<Refund[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => props.call<{ repayments: Refund[] }>(`${API}repayments`).then((r) => setRefunds(r.repayments), (e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, []);
  const waiting = refunds?.filter((r) => r.state === 'awaiting-approval') ?? [];
  return (
    <section aria-labelledby="refunds-title">
      <h2 id="refunds-title">Refunds awaiting approval</h2>
      <ErrorNotice error={error} />
      {refunds && (waiting.length === 0 ? <p class="muted">None waiting.</p> : <RefundsTable call={props.call} refunds={waiting} onChange={() => void load()} onOpen={props.onOpen} />)}
      <h2>All refunds</h2>
      {refunds && (refunds.length === 0 ? <p class="muted">None.</p> : <RefundsTable call={props.call} refunds={refunds} onChange={() => void load()} onOpen={props.onOpen} />)}
    </section>
  );
}

function Settlements(props: { call: OperatorApi }) {
  const [list, setList] = useState<Settlement[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    props.call<{ settlements: Settlement[] }>(`${API}settlements`).then((r) => setList(r.settlements), (e: unknown) => setError(errorText(e)));
  }, []);
  return (
    <section aria-labelledby="settlements-title">
      <h2 id="settlements-title">Settlements</h2>
      <p class="muted">The payment server's signed reports of payouts to the shop's bank account, as fetched (`quittance merchant settlements`).</p>
      <ErrorNotice error={error} />
      {list && list.length === 0 && <p class="muted">No settlement reports yet.</p>}
      {list && list.length > 0 && (
        <div class="table-wrap">
          <table data-testid="settlements">
            <thead>
              <tr>
                <th>Time</th>
                <th>Settlement</th>
                <th class="num">Amount</th>
                <th>Paid to</th>
                <th class="num">Items</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr key={s.settlementId}>
                  <td class="nowrap">{formatTime(s.time)}</td>
                  <td>
                    <code>{s.settlementId}</code>
                  </td>
                  <td class="num">{formatMoney(s.amount)}</td>
                  <td>
                    <code>{s.payoutAccount}</code>
                  </td>
                  <td class="num">{s.items.length}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function OrderView(props: { call: OperatorApi; tx: string; onBack: () => void }) {
  const [o, setO] = useState<OrderDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = `${API}orders/${encodeURIComponent(props.tx)}`;
  const load = () => props.call<OrderDetail>(path).then(setO, (e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void load();
  }, [props.tx]);
  const refresh = (what: string) => props.call(`${path}/${what}`, { body: {} }).then(load, (e: unknown) => setError(errorText(e)));
  return (
    <section aria-labelledby="order-title" data-testid="order-detail">
      <button type="button" onClick={props.onBack}>
        ← Orders
      </button>
      <ErrorNotice error={error} />
      {o && (
        <>
          <h2 id="order-title">
            Order {o.orderId} {badge(o.state)}
          </h2>
          <div class="card">
            <Fields
              rows={[
                ['Transaction id', <code>{o.transactionId}</code>],
                ['Purchaser', <code>{o.purchaserId}</code>],
                ['Kind', o.purchaserKind],
                ['Amount', formatMoney(o.amount)],
                ['Refunded', formatMoney(o.refunded)],
                ['Mode', o.paymentMode],
                ['Payment server', <code>{o.paymentServerId}</code>],
                ['Billed', formatTime(o.billTime)],
                ['Pay by', formatTime(o.paymentDueTime)],
                ['Paid', formatTime(o.paidAt)],
                ['Refunds until', formatTime(o.refundDeadline)],
                ['Invoice hash', <code>{o.invoiceHash}</code>],
              ]}
            />
            <div class="actions row" style="margin-top:0.75rem">
              <button type="button" onClick={() => void refresh('refresh')}>
                Ask the payment server (payment)
              </button>
              <button type="button" onClick={() => void refresh('repayments/refresh')}>
                Ask the payment server (refunds)
              </button>
            </div>
          </div>
          <h3>Lines (fig. 12)</h3>
          <LinesTable lines={o.lines} testid="order-lines" />
          <h3>Refunds</h3>
          {o.refunds.length === 0 ? <p class="muted">None.</p> : <RefundsTable call={props.call} refunds={o.refunds} onChange={() => void load()} />}
        </>
      )}
    </section>
  );
}

function Dashboard(props: { call: OperatorApi; logout: () => void }) {
  const [tab, setTab] = useState<Tab>('orders');
  const [order, setOrder] = useState<string | null>(null);
  const open = (tx: string) => setOrder(tx);
  const nav = [
    { id: 'orders', label: 'Orders', onClick: () => (setTab('orders'), setOrder(null)) },
    { id: 'refunds', label: 'Refunds', onClick: () => (setTab('refunds'), setOrder(null)) },
    { id: 'settlements', label: 'Settlements', onClick: () => (setTab('settlements'), setOrder(null)) },
    { id: 'logout', label: 'Log out', onClick: props.logout },
  ];
  return (
    <Layout party="Shop dashboard" nav={nav} current={tab}>
      {order ? (
        <OrderView call={props.call} tx={order} onBack={() => setOrder(null)} />
      ) : tab === 'orders' ? (
        <Orders call={props.call} onOpen={open} />
      ) : tab === 'refunds' ? (
        <Refunds call={props.call} onOpen={open} />
      ) : (
        <Settlements call={props.call} />
      )}
    </Layout>
  );
}

function App() {
  return (
    <OperatorLogin party="shop" check={`${API}orders?limit=1`}>
      {(call, logout) => <Dashboard call={call} logout={logout} />}
    </OperatorLogin>
  );
}

render(<App />, document.getElementById('app')!);
