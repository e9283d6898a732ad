// The wallet itself: who it is (registration and certificate status), its
// money (coins, purses), loading from the bank.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../../shared/api.ts';
import { ErrorNotice, Fields, formatTime } from '../../shared/layout.tsx';
import { formatMoney } from '../../shared/money.ts';
import type { Status, WalletApi } from './wallet-api.ts';

type Balance = {
  balances: { currency: string; amount: string; coins: number }[];
  purses: ({ paymentUrl: string; paymentPartyId: string; purseKey: string } & ({ balance: string; paid: string; credited: string } | { error: { code: string; message: string } }))[];
};
type Coin = { coinPub: string; value: string; state: string; createdAt: string };

function certificateBadge(s: Status) {
  const c = s.certificate;
  if (!s.identity) return <span class="badge warn">not registered</span>;
  if (s.identity.status !== 'approved') return <span class="badge warn">{s.identity.status}</span>;
  if (!c) return <span class="badge warn">unknown</span>;
  const cls = c.state === 'valid' ? 'ok' : c.state === 'unknown' ? 'warn' : 'bad';
  return <span class={`badge ${cls}`} title={c.code ? `${c.code}: ${c.message ?? ''}` : undefined}>certificate {c.state}</span>;
}

function Registration(props: { call: WalletApi; status: Status; onChange: (s: Status) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (what: () => Promise<Status>) => {
    setBusy(true);
    setError(null);
    try {
      props.onChange(await what());
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  if (props.status.identity?.status === 'pending') {
    return (
      <div>
        <ErrorNotice error={error} />
        <p>Your registration waits for the CA.</p>
        <button type="button" disabled={busy} onClick={() => void run(() => props.call<Status>('registration/refresh', { body: {} }))}>
          Ask the CA again
        </button>
      </div>
    );
  }
  const submit = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const v = (k: string) => (f.get(k) ?? '').toString().trim();
    void run(() => props.call<Status>('registration', { body: { caUrl: v('caUrl'), displayName: v('displayName'), realIdentity: { name: v('name'), postalAddress: v('postalAddress'), email: v('email') } } }));
  };
  return (
    <form onSubmit={submit} aria-labelledby="register-title">
      <h3 id="register-title">Register with a certificate authority</h3>
      <p class="muted">The CA records who you are; your certificate shows shops only your display name and a party id.</p>
      <ErrorNotice error={error} />
      <label for="reg-ca">CA address</label>
      <input id="reg-ca" name="caUrl" type="url" required placeholder="http://127.0.0.1:7001" />
      <label for="reg-display">Display name (what shops see)</label>
      <input id="reg-display" name="displayName" required maxLength={64} />
      <label for="reg-name">Your name (for the CA only)</label>
      <input id="reg-name" name="name" required maxLength={200} />
      <label for="reg-address">Postal address (for the CA only)</label>
      <input id="reg-address" name="postalAddress" required maxLength={500} />
      <label for="reg-email">E-mail (for the CA only)</label>
      <input id="reg-email" name="email" type="email" required />
      <div class="actions">
        <button class="primary" type="submit" disabled={busy}>
          Register
        </button>
      </div>
    </form>
  );
}

export function Home(props: { call: WalletApi; status: Status; onStatus: (s: Status) => void }) {
  const { call, status } = props;
  const [balance, setBalance] = useState<Balance | null>(null);
  const [coins, setCoins] = useState<Coin[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const loadBalance = () => call<Balance>('balance').then(setBalance, (e: unknown) => setError(errorText(e)));
  useEffect(() => {
    void loadBalance();
  }, []);

  const load = (ev: Event) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget as HTMLFormElement);
    const amount = (f.get('amount') ?? '').toString().trim();
    const into = (f.get('into') ?? 'coins').toString();
    setBusy(true);
    setError(null);
    setNotice(null);
    call<unknown>('loads', { body: { amount, into } })
      .then(() => {
        setNotice(`Loaded ${formatMoney(amount)} into your ${into === 'purse' ? 'purse' : 'coins'}.`);
        return loadBalance();
      })
      .catch((e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };

  const id = status.identity;
  return (
    <>
      <section class="card" aria-labelledby="identity-title">
        <h2 id="identity-title" style="margin-top:0">
          You {certificateBadge(status)}
        </h2>
        {id ? (
          <Fields
            testid="identity"
            rows={[
              ['Display name', id.displayName],
              ['Party id', <code>{id.partyId ?? '—'}</code>],
              ['Registration', id.status + (id.rejectReason ? ` (${id.rejectReason})` : '')],
              ['Certificate fingerprint', <code>{id.fingerprint ?? '—'}</code>],
              ['Valid', id.notBefore ? `${formatTime(id.notBefore)} – ${formatTime(id.notAfter)}` : '—'],
              ['CA', <code>{id.caUrl}</code>],
              ['CA root fingerprint', <code>{id.caFingerprint ?? '—'}</code>],
              ...(status.certificate?.code ? ([['Certificate check', `${status.certificate.code}: ${status.certificate.message ?? ''}`]] as [string, string][]) : []),
            ]}
          />
        ) : null}
        {(!id || id.status !== 'approved') && <Registration call={call} status={status} onChange={props.onStatus} />}
        <p class="muted">Wallet {status.walletId}</p>
      </section>

      <section class="card" aria-labelledby="money-title">
        <h2 id="money-title" style="margin-top:0">
          Money
        </h2>
        <ErrorNotice error={error} />
        {notice && (
          <div class="notice ok" role="status">
            {notice}
          </div>
        )}
        {balance && (
          <div data-testid="balance">
            {balance.balances.length === 0 && <p>No coins.</p>}
            {balance.balances.map((b) => (
              <p key={b.currency} style="font-size:1.4rem;font-weight:700;margin:0.25rem 0" data-testid={`balance-${b.currency}`}>
                {formatMoney(b.amount)} <span class="muted" style="font-size:1rem;font-weight:normal">in {b.coins} coins</span>
              </p>
            ))}
            {balance.purses.map((p) => (
              <p key={p.purseKey}>
                Purse at <code>{p.paymentUrl}</code>: {'error' in p ? `${p.error.code}: ${p.error.message}` : `${formatMoney(p.balance)} (paid ${formatMoney(p.paid)})`}
              </p>
            ))}
          </div>
        )}
        <form onSubmit={load} aria-labelledby="load-title">
          <h3 id="load-title">Load from your bank</h3>
          <div class="row">
            <div>
              <label for="load-amount">Amount</label>
              <input id="load-amount" name="amount" required placeholder="JPY:5000" pattern="[A-Z]{3}:[0-9]+(\.[0-9]+)?" style="max-width:12rem" />
            </div>
            <div>
              <label for="load-into">Into</label>
              <select id="load-into" name="into" style="max-width:12rem">
                <option value="coins">coins (e-money)</option>
                <option value="purse">my purse</option>
              </select>
            </div>
          </div>
          <div class="actions">
            <button class="primary" type="submit" disabled={busy}>
              Load
            </button>
            <button type="button" onClick={() => void call<{ coins: Coin[] }>('coins?state=unspent').then((r) => setCoins(r.coins), (e: unknown) => setError(errorText(e)))}>
              Show my coins
            </button>
          </div>
        </form>
        {coins && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Coin</th>
                  <th class="num">Value</th>
                  <th>Since</th>
                </tr>
              </thead>
              <tbody>
                {coins.map((c) => (
                  <tr key={c.coinPub}>
                    <td>
                      <code>{c.coinPub.slice(0, 16)}…</code>
                    </td>
                    <td class="num">{formatMoney(c.value)}</td>
                    <td>{formatTime(c.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
