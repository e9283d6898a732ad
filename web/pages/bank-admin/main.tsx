// The bank console (issue 6), served by the bank at /admin/: every account
// with its balance, funding an account from the bank's issuance account, an
// account's transfers (its history) and a statement for a period. Every call
// is a route the CLI also has (`quittance bank accounts`, `bank fund`,
// `bank history`, `bank statement`), with the operator token.
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from '../../shared/api.ts';
import { Layout } from '../../shared/layout.tsx';
import { OperatorLogin, type OperatorApi } from '../../shared/login.tsx';
import { moneyString, parseMoney } from '../../shared/money.ts';
import { DataTable, Money, Section, Time, useHashTab, useLoaded } from '../payment-admin/console-kit.tsx';

type Account = { accountId: string; holder: string; currency: string; kind: string; balance: string; limit: string; createdAt: string };
type Entry = { seq: number; direction: 'incoming' | 'outgoing'; transferId: string; amount: string; counterparty: string; subject: string; balanceAfter: string; createdAt: string };
type Statement = { accountId: string; currency: string; from: string; to: string; openingBalance: string; closingBalance: string; totalCredits: string; totalDebits: string; entries: Entry[] };

const TABS = [
  { id: 'accounts', label: 'Accounts' },
  { id: 'transfers', label: 'Transfers' },
  { id: 'statement', label: 'Statement' },
];

/** A transfer id made once per form: submitting again after a lost answer repeats the same transfer, never a second one. */
function newTransferId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `ui-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** "10000" or "12.50" in the account's currency → "JPY:10000", or null when it is no amount of that currency. */
function amountOf(currency: string, typed: string): string | null {
  const m = parseMoney(`${currency}:${typed.trim()}`);
  return m && m.minor > 0n ? moneyString(m) : null;
}

function FundForm(props: { call: OperatorApi; account: Account; done: (message: string) => void; cancel: () => void }) {
  const [transferId, setTransferId] = useState(newTransferId);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const a = props.account;
  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = new FormData(ev.currentTarget as HTMLFormElement);
    const amount = amountOf(a.currency, (form.get('amount') ?? '').toString());
    if (amount === null) {
      setError(`enter a positive amount in ${a.currency}`);
      return;
    }
    const subject = (form.get('subject') ?? '').toString().trim();
    setBusy(true);
    try {
      await props.call('/v1/admin/fund', { method: 'POST', body: { transferId, to: a.accountId, amount, ...(subject ? { subject } : {}) } });
      setTransferId(newTransferId());
      props.done(`Funded ${a.accountId} with ${amount}.`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="fund-title" data-testid="fund">
      <h3 id="fund-title" style="margin-top: 0">
        Fund {a.accountId} ({a.holder})
      </h3>
      <p class="muted">Paid from the bank's own issuance account in {a.currency} (demo money).</p>
      {error && <div class="notice error" role="alert">{error}</div>}
      <form onSubmit={(e) => void submit(e)}>
        <label for="fund-amount">Amount ({a.currency})</label>
        <input id="fund-amount" name="amount" inputMode="decimal" required autoFocus style="max-width: 12rem" />
        <label for="fund-subject">Subject (optional)</label>
        <input id="fund-subject" name="subject" maxLength={512} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Fund
          </button>
          <button type="button" onClick={props.cancel}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

function Accounts(props: { call: OperatorApi; pick: (id: string, tab: string) => void }) {
  const accounts = useLoaded(() => props.call<{ accounts: Account[] }>('/v1/accounts'), []);
  const [filter, setFilter] = useState('');
  const [funding, setFunding] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const all = accounts.data?.accounts ?? [];
  const rows = filter ? all.filter((a) => a.holder.includes(filter) || a.accountId.includes(filter.toUpperCase())) : all;
  const open = all.find((a) => a.accountId === funding);
  return (
    <Section
      title="Accounts"
      loaded={accounts}
      actions={
        <>
          <label for="account-filter" class="visually-hidden">
            Filter by holder or account
          </label>
          <input id="account-filter" placeholder="holder or account" value={filter} onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} style="max-width: 14rem" />
        </>
      }
    >
      {message && <div class="notice ok" role="status">{message}</div>}
      {open && (
        <FundForm
          call={props.call}
          account={open}
          cancel={() => setFunding(null)}
          done={(m) => {
            setFunding(null);
            setMessage(m);
            accounts.reload();
          }}
        />
      )}
      <DataTable
        caption="Accounts with their balances"
        testid="accounts"
        rows={rows}
        rowKey={(a) => a.accountId}
        empty="No accounts."
        columns={[
          { label: 'Account', cell: (a) => <code>{a.accountId}</code> },
          { label: 'Holder', cell: (a) => a.holder },
          { label: 'Kind', cell: (a) => a.kind },
          { label: 'Balance', num: true, cell: (a) => <strong><Money amount={a.balance} /></strong> },
          { label: 'Limit', num: true, cell: (a) => <Money amount={a.limit} /> },
          { label: 'Opened', cell: (a) => <Time iso={a.createdAt} /> },
          {
            label: 'Actions',
            cell: (a) => (
              <div class="row">
                <button type="button" onClick={() => setFunding(a.accountId)} aria-label={`Fund ${a.accountId}`}>
                  Fund…
                </button>
                <button type="button" onClick={() => props.pick(a.accountId, 'transfers')} aria-label={`Transfers of ${a.accountId}`}>
                  Transfers
                </button>
                <button type="button" onClick={() => props.pick(a.accountId, 'statement')} aria-label={`Statement of ${a.accountId}`}>
                  Statement
                </button>
              </div>
            ),
          },
        ]}
      />
    </Section>
  );
}

function AccountPicker(props: { call: OperatorApi; value: string; onChange: (id: string) => void }) {
  const accounts = useLoaded(() => props.call<{ accounts: Account[] }>('/v1/accounts'), []);
  return (
    <>
      <label for="account-pick">Account</label>
      <select id="account-pick" value={props.value} onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">choose an account</option>
        {(accounts.data?.accounts ?? []).map((a) => (
          <option value={a.accountId} key={a.accountId}>
            {a.accountId} — {a.holder} ({a.currency})
          </option>
        ))}
      </select>
      {accounts.error && <div class="notice error" role="alert">{accounts.error}</div>}
    </>
  );
}

const entryColumns = [
  { label: '#', num: true, cell: (e: Entry) => e.seq },
  { label: 'Time', cell: (e: Entry) => <Time iso={e.createdAt} /> },
  { label: 'Amount', num: true, cell: (e: Entry) => <Money amount={e.direction === 'incoming' ? e.amount : `-${e.amount}`} /> },
  { label: 'Counterparty', cell: (e: Entry) => <code>{e.counterparty}</code> },
  { label: 'Subject', cell: (e: Entry) => e.subject },
  { label: 'Balance after', num: true, cell: (e: Entry) => <Money amount={e.balanceAfter} /> },
  { label: 'Transfer id', cell: (e: Entry) => <code>{e.transferId}</code> },
];

function Transfers(props: { call: OperatorApi; account: string; setAccount: (id: string) => void }) {
  const [after, setAfter] = useState(0);
  const history = useLoaded(
    async () => (props.account ? props.call<{ entries: Entry[]; next: number }>(`/v1/accounts/${props.account}/history?after=${after}&limit=100`) : { entries: [], next: 0 }),
    [props.account, after],
  );
  return (
    <Section title="Transfers" loaded={history}>
      <AccountPicker call={props.call} value={props.account} onChange={(id) => { setAfter(0); props.setAccount(id); }} />
      {props.account && (
        <>
          <DataTable caption={`Transfers of ${props.account}`} testid="history" rows={history.data?.entries ?? []} rowKey={(e) => String(e.seq)} empty="No transfers after this point." columns={entryColumns} />
          <div class="actions" style="margin-top: 0.75rem">
            {after > 0 && (
              <button type="button" onClick={() => setAfter(0)}>
                From the start
              </button>
            )}
            {(history.data?.entries.length ?? 0) === 100 && (
              <button type="button" onClick={() => setAfter(history.data!.next)}>
                Later transfers
              </button>
            )}
          </div>
        </>
      )}
    </Section>
  );
}

/** yyyy-mm-dd of a date, in UTC (the bank's periods are UTC instants). */
const day = (d: Date) => d.toISOString().slice(0, 10);

function StatementView(props: { call: OperatorApi; account: string; setAccount: (id: string) => void }) {
  const now = new Date();
  const [from, setFrom] = useState(day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))));
  const [to, setTo] = useState(day(new Date(now.getTime() + 86_400_000)));
  const [asked, setAsked] = useState<{ account: string; from: string; to: string } | null>(null);
  const st = useLoaded(
    async () => (asked ? props.call<Statement>(`/v1/accounts/${asked.account}/statement?from=${asked.from}T00:00:00Z&to=${asked.to}T00:00:00Z`) : null),
    [asked],
  );
  const submit = (ev: Event) => {
    ev.preventDefault();
    if (props.account) setAsked({ account: props.account, from, to });
  };
  const s = st.data;
  return (
    <Section title="Statement" loaded={{ ...st, loading: st.loading && asked !== null }}>
      <form onSubmit={submit}>
        <AccountPicker call={props.call} value={props.account} onChange={props.setAccount} />
        <div class="row">
          <div>
            <label for="st-from">From (UTC, included)</label>
            <input id="st-from" type="date" value={from} required onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} />
          </div>
          <div>
            <label for="st-to">To (UTC, excluded)</label>
            <input id="st-to" type="date" value={to} required onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
          </div>
        </div>
        <div class="actions">
          <button type="submit" class="primary" disabled={!props.account}>
            Show statement
          </button>
        </div>
      </form>
      {s && (
        <div data-testid="statement" style="margin-top: 1rem">
          <dl class="fields">
            <dt>Account</dt>
            <dd>
              <code>{s.accountId}</code>
            </dd>
            <dt>Period</dt>
            <dd>
              <Time iso={s.from} /> – <Time iso={s.to} />
            </dd>
            <dt>Opening balance</dt>
            <dd>
              <Money amount={s.openingBalance} />
            </dd>
            <dt>Credits</dt>
            <dd>
              <Money amount={s.totalCredits} />
            </dd>
            <dt>Debits</dt>
            <dd>
              <Money amount={s.totalDebits} />
            </dd>
            <dt>Closing balance</dt>
            <dd>
              <strong>
                <Money amount={s.closingBalance} />
              </strong>
            </dd>
          </dl>
          <DataTable caption={`Statement entries of ${s.accountId}`} rows={s.entries} rowKey={(e) => String(e.seq)} empty="No entries in this period." columns={entryColumns} />
        </div>
      )}
    </Section>
  );
}

function App() {
  const tab = useHashTab(TABS.map((t) => t.id));
  const [account, setAccount] = useState('');
  const pick = (id: string, where: string) => {
    setAccount(id);
    location.hash = where;
  };
  return (
    <Layout party="Bank" title="Bank console" current={tab} nav={TABS}>
      <OperatorLogin party="bank" check="/v1/accounts">
        {(call, logout) => (
          <>
            <div class="row">
              <span class="spacer" />
              <button type="button" onClick={logout}>
                Log out
              </button>
            </div>
            {tab === 'accounts' && <Accounts call={call} pick={pick} />}
            {tab === 'transfers' && <Transfers call={call} account={account} setAccount={setAccount} />}
            {tab === 'statement' && <StatementView call={call} account={account} setAccount={setAccount} />}
          </>
        )}
      </OperatorLogin>
    </Layout>
  );
}

render(<App />, document.getElementById('app')!);
