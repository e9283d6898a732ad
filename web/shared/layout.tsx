// The header every page shares: the product, the party the page belongs to, its nav.
import type { ComponentChildren } from 'preact';
import './style.css';

export type NavItem = { id: string; label: string; href?: string; onClick?: () => void };

export function Layout(props: { party: string; title?: string; nav?: NavItem[]; current?: string; children: ComponentChildren }) {
  return (
    <>
      <header class="site-header">
        <div class="inner">
          <span class="brand">Quittance</span>
          <span class="party" data-testid="party-name">{props.party}</span>
          {props.nav && props.nav.length > 0 && (
            <nav aria-label="main">
              {props.nav.map((n) =>
                n.onClick ? (
                  <button type="button" key={n.id} onClick={n.onClick} aria-current={props.current === n.id ? 'page' : undefined}>
                    {n.label}
                  </button>
                ) : (
                  <a key={n.id} href={n.href ?? `#${n.id}`} aria-current={props.current === n.id ? 'page' : undefined}>
                    {n.label}
                  </a>
                ),
              )}
            </nav>
          )}
        </div>
      </header>
      <main>
        {props.title && <h1>{props.title}</h1>}
        {props.children}
      </main>
    </>
  );
}

export function ErrorNotice(props: { error: string | null }) {
  if (!props.error) return null;
  return (
    <div class="notice error" role="alert">
      {props.error}
    </div>
  );
}

/** A row of label/value pairs (documents, certificate fields). */
export function Fields(props: { rows: [string, ComponentChildren][]; testid?: string }) {
  return (
    <dl class="fields" data-testid={props.testid}>
      {props.rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
