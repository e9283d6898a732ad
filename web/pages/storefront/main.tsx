// The storefront (merchant server, /shop/): the catalogue with prices, the
// selling conditions, a cart, and "Pay with Quittance", which hands the cart
// to the shopper's wallet page as a payment URI. The shop's identity and the
// price the shopper pays come from the shop's certificate and signed invoice,
// checked by the wallet: nothing on this page is trusted by it.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, errorText } from '../../shared/api.ts';
import { ErrorNotice, Layout } from '../../shared/layout.tsx';
import { addMoney, formatMoney, money, parseMoney, timesMoney, type Money } from '../../shared/money.ts';
import { cartPaymentUri, walletPayLink } from './payment-uri.ts';

type Article = { id: string; name: string; unitPrice: string; stock?: number };
type Catalogue = { merchant: { id: string; name: string }; articles: Article[]; paymentModes: string[]; sellingConditions: { text: string; hash: string } };
type ShopConfig = { walletUrl: string; shopUrl: string | null };

/** The shop's API lives one level above /shop/. */
const SHOP_BASE = new URL('../', location.href);

function Storefront() {
  const [catalogue, setCatalogue] = useState<Catalogue | null>(null);
  const [config, setConfig] = useState<ShopConfig | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cart, setCart] = useState<Map<string, number>>(new Map());

  useEffect(() => {
    Promise.all([api<Catalogue>(new URL('v1/catalogue', SHOP_BASE).href), api<ShopConfig>('config.json')])
      .then(([c, k]) => {
        setCatalogue(c);
        setConfig(k);
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, []);

  const setQuantity = (id: string, q: number) =>
    setCart((old) => {
      const next = new Map(old);
      if (q <= 0) next.delete(id);
      else next.set(id, Math.min(q, 999));
      return next;
    });

  const lines = useMemo(() => {
    if (!catalogue) return [];
    return catalogue.articles.flatMap((a) => {
      const q = cart.get(a.id);
      const price = parseMoney(a.unitPrice);
      return q && price ? [{ article: a, quantity: q, subtotal: timesMoney(price, q) }] : [];
    });
  }, [catalogue, cart]);

  const total: Money | null = lines.length === 0 ? null : lines.slice(1).reduce((sum, l) => addMoney(sum, l.subtotal), lines[0]!.subtotal);
  const uri = catalogue && lines.length > 0 ? cartPaymentUri(config?.shopUrl ?? SHOP_BASE.href, lines.map((l) => ({ article: l.article.id, quantity: l.quantity }))) : null;
  const payLink = uri && config ? walletPayLink(config.walletUrl, uri) : null;

  return (
    <Layout party={catalogue?.merchant.name ?? 'Shop'} nav={[{ id: 'catalogue', label: 'Catalogue' }, { id: 'cart', label: `Cart (${lines.length})` }, { id: 'conditions', label: 'Selling conditions' }]}>
      <ErrorNotice error={error} />
      {!catalogue && !error && <p class="muted">Loading the catalogue…</p>}
      {catalogue && (
        <>
          <h1 id="catalogue">{catalogue.merchant.name}</h1>
          <p class="muted">
            Shop id <code>{catalogue.merchant.id}</code>. Your wallet will show the name and id from the shop's certificate: pay only if they match.
          </p>
          <div class="grid" data-testid="articles">
            {catalogue.articles.map((a) => {
              const inCart = cart.get(a.id) ?? 0;
              const soldOut = a.stock !== undefined && a.stock <= 0;
              return (
                <article class="card" key={a.id} data-testid={`article-${a.id}`}>
                  <h3 style="margin-top:0">{a.name}</h3>
                  <p class="muted">
                    <code>{a.id}</code>
                    {a.stock !== undefined && <> · {soldOut ? 'sold out' : `${a.stock} left`}</>}
                  </p>
                  <p style="font-size:1.25rem;font-weight:600">{formatMoney(a.unitPrice)}</p>
                  <button type="button" class="primary" disabled={soldOut} onClick={() => setQuantity(a.id, inCart + 1)} aria-label={`Add ${a.name} to the cart`}>
                    Add to cart
                  </button>
                </article>
              );
            })}
          </div>

          <section class="card" aria-labelledby="cart" data-testid="cart">
            <h2 id="cart" style="margin-top:0">Your cart</h2>
            {lines.length === 0 ? (
              <p class="muted">The cart is empty.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Article</th>
                      <th class="num">Unit price</th>
                      <th class="num">Quantity</th>
                      <th class="num">Subtotal</th>
                      <th>
                        <span class="visually-hidden">Remove</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {lines.map((l) => (
                      <tr key={l.article.id} data-testid={`cart-line-${l.article.id}`}>
                        <td>{l.article.name}</td>
                        <td class="num">{formatMoney(l.article.unitPrice)}</td>
                        <td class="num">
                          <label class="visually-hidden" for={`qty-${l.article.id}`}>
                            Quantity of {l.article.name}
                          </label>
                          <input
                            id={`qty-${l.article.id}`}
                            type="number"
                            min={0}
                            max={999}
                            value={l.quantity}
                            onChange={(e) => setQuantity(l.article.id, Number.parseInt((e.currentTarget as HTMLInputElement).value, 10) || 0)}
                          />
                        </td>
                        <td class="num">{formatMoney(l.subtotal)}</td>
                        <td>
                          <button type="button" onClick={() => setQuantity(l.article.id, 0)} aria-label={`Remove ${l.article.name}`}>
                            Remove
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                  <tfoot>
                    <tr>
                      <th colSpan={3}>Total</th>
                      <td class="num" data-testid="cart-total">
                        <strong>{total ? formatMoney(total) : formatMoney(money('JPY', 0n))}</strong>
                      </td>
                      <td />
                    </tr>
                  </tfoot>
                </table>
              </div>
            )}
            {uri && payLink && (
              <div style="margin-top:1rem">
                <a class="button primary" href={payLink} data-testid="pay-link">
                  Pay with Quittance
                </a>
                <p class="muted">Opens your wallet page ({config?.walletUrl}). Or copy the payment URI into your wallet:</p>
                <div class="copy-box">
                  <label class="visually-hidden" for="payment-uri">
                    Payment URI
                  </label>
                  <input id="payment-uri" readOnly value={uri} data-testid="payment-uri" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
                  <button type="button" onClick={() => void navigator.clipboard?.writeText(uri)}>
                    Copy
                  </button>
                </div>
              </div>
            )}
          </section>

          <section class="card" aria-labelledby="conditions">
            <h2 id="conditions" style="margin-top:0">Selling conditions</h2>
            <p style="white-space:pre-wrap">{catalogue.sellingConditions.text}</p>
            <p class="muted">
              Their SHA-256 (in every invoice): <code>{catalogue.sellingConditions.hash}</code>
            </p>
            <p class="muted">Payment: {catalogue.paymentModes.join(', ')}.</p>
          </section>
        </>
      )}
    </Layout>
  );
}

render(<Storefront />, document.getElementById('app')!);
