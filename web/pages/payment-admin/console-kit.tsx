// What the three operator consoles (payment-admin, ca-admin, bank-admin)
// share beyond web/shared: loading state, state badges, tables with a
// caption, money and time cells, hash-routed tabs. Kept here because
// web/shared belongs to the page infrastructure; it could move there as is.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { errorText } from '../../shared/api.ts';
import { formatTime } from '../../shared/layout.tsx';
import { formatMoney } from '../../shared/money.ts';

export type Loaded<T> = { data: T | null; error: string | null; loading: boolean; reload: () => void };

/** Runs `load` now and whenever a dependency changes or `reload()` is called; the last answer wins. */
export function useLoaded<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (live) setError(errorText(e));
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** The tab named by the URL's hash (#payments), one of `ids`; the first by default. */
export function useHashTab(ids: readonly string[]): string {
  const read = () => {
    const h = location.hash.replace(/^#/, '');
    return ids.includes(h) ? h : ids[0]!;
  };
  const [tab, setTab] = useState(read);
  useEffect(() => {
    const on = () => setTab(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return tab;
}

const GOOD = new Set(['PAID', 'active', 'sent', 'delivered', 'approved', 'ok', 'valid', 'REPAYMENT_COMPLETION']);
const WAITING = new Set(['RECEPTION_ACCEPTED', 'pending', 'deposit-only', 'suspended']);

/** A state as a badge: green when settled, yellow while waiting, red when refused or broken. */
export function StateBadge(props: { state: string; label?: string }) {
  const cls = GOOD.has(props.state) ? 'ok' : WAITING.has(props.state) ? 'warn' : 'bad';
  return <span class={`badge ${cls}`}>{props.label ?? props.state}</span>;
}

/** A money amount from the wire ("JPY:4000", bank balances may be "-JPY:500"), formatted per currency. */
export function Money(props: { amount: string | null | undefined }) {
  const a = props.amount;
  if (a === null || a === undefined) return <span class="muted">—</span>;
  const negative = a.startsWith('-');
  const shown = negative ? `−${formatMoney(a.slice(1))}` : formatMoney(a);
  return (
    <span class="nowrap" title={a}>
      {shown}
    </span>
  );
}

export function Time(props: { iso: string | null | undefined }) {
  return props.iso ? <time dateTime={props.iso}>{formatTime(props.iso)}</time> : <span class="muted">—</span>;
}

/** A long identifier shortened for the table, whole in the title and for screen readers. */
export function ShortId(props: { id: string; keep?: number }) {
  const keep = props.keep ?? 12;
  if (props.id.length <= keep + 1) return <code>{props.id}</code>;
  return (
    <code title={props.id} aria-label={props.id}>
      {props.id.slice(0, keep)}…
    </code>
  );
}

export type Column<R> = { label: string; num?: boolean; cell: (r: R) => ComponentChildren };

/** A captioned table that scrolls sideways on a narrow screen instead of squeezing. */
export function DataTable<R>(props: { caption: string; rows: readonly R[]; columns: Column<R>[]; empty: string; rowKey: (r: R) => string; testid?: string }) {
  if (props.rows.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={props.caption}>
      <table data-testid={props.testid}>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" class={c.num ? 'num' : undefined} key={c.label}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={props.rowKey(r)}>
              {props.columns.map((c) => (
                <td class={c.num ? 'num' : undefined} key={c.label}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Loading, error and reload around a section's content. */
export function Section(props: { title: string; loaded: Pick<Loaded<unknown>, 'error' | 'loading' | 'reload'>; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={`h-${props.title}`} aria-busy={props.loaded.loading}>
      <div class="row">
        <h2 id={`h-${props.title}`} style="margin: 0">
          {props.title}
        </h2>
        <span class="spacer" />
        {props.actions}
        <button type="button" onClick={props.loaded.reload} disabled={props.loaded.loading}>
          Reload
        </button>
      </div>
      {props.loaded.error && (
        <div class="notice error" role="alert" style="margin-top: 0.75rem">
          {props.loaded.error}
        </div>
      )}
      {props.loaded.loading && <p class="muted">Loading…</p>}
      {props.children}
    </section>
  );
}
