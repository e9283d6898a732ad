// Operator pages: the operator token (the same one the admin API and the CLI
// take) is asked once, kept in sessionStorage for this tab only, and sent as a
// bearer token. Any 401 forgets it and shows the form again.
import type { ComponentChildren } from 'preact';
import { useCallback, useState } from 'preact/hooks';
import { api, ApiError, type ApiOptions } from './api.ts';
import { Layout } from './layout.tsx';

const KEY = 'quittance.operatorToken';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, token);
  } catch {
    // Storage refused (private mode): the token lives as long as the page.
  }
}

export type OperatorApi = <T>(url: string, opts?: Omit<ApiOptions, 'token'>) => Promise<T>;

/**
 * Shows the login form until a token is given, then `children(call, logout)`.
 * `call` is `api` with the token; a 401 from it logs out and rethrows.
 */
export function OperatorLogin(props: { party: string; check: string; children: (call: OperatorApi, logout: () => void) => ComponentChildren }) {
  const [token, setToken] = useState<string | null>(storedToken);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const logout = useCallback(() => {
    storeToken(null);
    setToken(null);
  }, []);

  const call = useCallback<OperatorApi>(
    async <T,>(url: string, opts: Omit<ApiOptions, 'token'> = {}) => {
      try {
        return await api<T>(url, { ...opts, token });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          storeToken(null);
          setToken(null);
          setMessage(`${e.code}: ${e.message}`);
        }
        throw e;
      }
    },
    [token],
  );

  if (token !== null) return <>{props.children(call, logout)}</>;

  const submit = async (ev: Event) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const value = (new FormData(form).get('token') ?? '').toString().trim();
    if (value === '') {
      setMessage('enter the operator token');
      return;
    }
    setBusy(true);
    try {
      // Checked against a read-only operator route before it is kept.
      await api(props.check, { token: value });
      storeToken(value);
      setMessage(null);
      setToken(value);
    } catch (e) {
      setMessage(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Layout party={props.party}>
    <section class="card" aria-labelledby="login-title">
      <h2 id="login-title">Operator login — {props.party}</h2>
      <p class="muted">The operator token printed by the server's <code>init</code> (the demo prints it too). It is kept in this tab only.</p>
      {message && (
        <div class="notice error" role="alert">
          {message}
        </div>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label for="operator-token">Operator token</label>
        <input id="operator-token" name="token" type="password" autocomplete="current-password" required autoFocus />
        <div class="actions">
          <button class="primary" type="submit" disabled={busy}>
            Log in
          </button>
        </div>
      </form>
    </section>
    </Layout>
  );
}
