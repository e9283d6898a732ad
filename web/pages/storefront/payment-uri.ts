// The payment URI of a cart, written exactly as src/protocol/payment-uri.ts
// formatPaymentUri writes it (the wallet parses it with that module):
// quittance://pay?shop=<encoded canonical shop URL>&items=ID:QTY,ID:QTY

export type CartItem = { article: string; quantity: number };

export function cartPaymentUri(shopUrl: string, items: readonly CartItem[]): string {
  // The WHATWG parser's own spelling: the one the wallet accepts and shows.
  const shop = new URL(shopUrl).href;
  return `quittance://pay?shop=${encodeURIComponent(shop)}&items=${items.map((i) => `${i.article}:${i.quantity}`).join(',')}`;
}

/** Where the wallet page opens it: the payment URI in the fragment, never sent to any server. */
export function walletPayLink(walletUrl: string, uri: string): string {
  const u = new URL(walletUrl);
  u.hash = `pay=${encodeURIComponent(uri)}`;
  return u.href;
}
