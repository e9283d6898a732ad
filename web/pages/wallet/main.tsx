// The wallet page, served by the shopper's own wallet daemon. Views by the
// URL fragment: #pay=<payment URI> (from a storefront), #session=ID (a purchase
// under way, so a reload does not start another), #purchase=TX, #history, or
// the wallet itself.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, errorText } from '../../shared/api.ts';
import { ErrorNotice, Layout } from '../../shared/layout.tsx';
import { Home } from './home.tsx';
import { PayFlow } from './pay.tsx';
import { History, PurchaseDetail } from './purchases.tsx';
import { forgetToken, takeToken, walletApi, type Status } from './wallet-api.ts';

type View = { kind: 'home' } | { kind: 'history' } | { kind: 'purchase'; tx: string } | { kind: 'pay'; uri: string } | { kind: 'session'; id: string };

function viewOf(hash: string): View {
  const p = new URLSearchParams(hash.slice(1));
  const pay = p.get('pay');
  if (pay) return { kind: 'pay', uri: pay };
  const session = p.get('session');
  if (session) return { kind: 'session', id: session };
  const tx = p.get('purchase');
  if (tx) return { kind: 'purchase', tx };
  if (hash === '#history') return { kind: 'history' };
  return { kind: 'home' };
}

function go(hash: string) {
  location.hash = hash;
}

function Wallet() {
  const [token, setToken] = useState<string | null>(takeToken);
  const [view, setView] = useState<View>(() => viewOf(location.hash));
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<string | null>(null);
  const call = useMemo(() => (token ? walletApi(token) : null), [token]);

  useEffect(() => {
    const onHash = () => {
      // A link with a fresh token (a restarted daemon) replaces the old one.
      if (new URLSearchParams(location.hash.slice(1)).has('token')) setToken(takeToken());
      setView(viewOf(location.hash));
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!call) return;
    call<Status>('status').then(setStatus, (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) {
        forgetToken();
        setToken(null);
      }
      setError(errorText(e));
    });
  }, [call]);

  const nav = [
    { id: 'home', label: 'Wallet', href: '#' },
    { id: 'history', label: 'History', href: '#history' },
  ];
  const party = status?.identity?.displayName ? `Wallet of ${status.identity.displayName}` : 'Wallet';

  if (!call) {
    return (
      <Layout party="Wallet">
        <ErrorNotice error={error} />
        <section class="card">
          <h2 style="margin-top:0">Open your wallet</h2>
          <p>
            This page needs the link <code>quittance wallet serve</code> (or <code>npm start</code>) printed: it ends in <code>#token=…</code>. Open that link in this tab, then come back to the shop (or press
            Back).
          </p>
          <form
            onSubmit={(ev) => {
              ev.preventDefault();
              const v = (new FormData(ev.currentTarget as HTMLFormElement).get('link') ?? '').toString();
              const m = /token=([A-Za-z0-9_-]+)/.exec(v);
              if (!m) {
                setError('no #token=… in what you pasted');
                return;
              }
              sessionStorage.setItem('quittance.walletToken', m[1]!);
              setError(null);
              setToken(m[1]!);
            }}
          >
            <label for="wallet-link">Or paste the link here</label>
            <input id="wallet-link" name="link" required />
            <div class="actions">
              <button class="primary" type="submit">
                Open
              </button>
            </div>
          </form>
        </section>
      </Layout>
    );
  }

  return (
    <Layout party={party} nav={nav} current={view.kind === 'history' || view.kind === 'purchase' ? 'history' : 'home'}>
      <ErrorNotice error={error} />
      {(view.kind === 'pay' || view.kind === 'session') && (
        <PayFlow
          call={call}
          {...(view.kind === 'pay' ? { uri: view.uri } : { sessionId: view.id })}
          onSession={(id) => history.replaceState(null, '', `${location.pathname}#session=${encodeURIComponent(id)}`)}
          onOpenPurchase={(tx) => go(`purchase=${encodeURIComponent(tx)}`)}
        />
      )}
      {view.kind === 'home' && status && <Home call={call} status={status} onStatus={setStatus} />}
      {view.kind === 'history' && <History call={call} onOpen={(tx) => go(`purchase=${encodeURIComponent(tx)}`)} />}
      {view.kind === 'purchase' && <PurchaseDetail key={view.tx} call={call} tx={view.tx} />}
    </Layout>
  );
}

render(<Wallet />, document.getElementById('app')!);
