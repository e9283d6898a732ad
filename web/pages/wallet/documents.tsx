// The documents as the patent's figures show them: the trusted display of the
// shop, the order sheet (fig. 14), the invoice (fig. 15), the receipt
// (fig. 16), the repayment request (fig. 24) and permit (fig. 25).
import { Fields, formatTime } from '../../shared/layout.tsx';
import { LinesTable } from '../../shared/lines.tsx';
import { formatMoney } from '../../shared/money.ts';
import type { Invoice, OrderSheet, Receipt, RefundView, TrustedShop } from './wallet-api.ts';

export function TrustedDisplay(props: { shop: TrustedShop }) {
  const s = props.shop;
  return (
    <section class="card verified" aria-labelledby="trusted-title" data-testid="trusted-display">
      <p class="seal" id="trusted-title">
        ✔ Verified shop
      </p>
      <p style="font-size:1.3rem;font-weight:700;margin:0.25rem 0" data-testid="shop-name">
        {s.displayName}
      </p>
      <p class="muted" style="margin-top:0">Checked by your wallet against the certificate authority you trust: this is who you are dealing with.</p>
      <Fields
        rows={[
          ['Party id', <code data-testid="shop-party-id">{s.partyId}</code>],
          ['Role', s.role],
          ['Certified by (CA)', s.ca.issuer],
          ['CA root fingerprint', <code>{s.ca.rootFingerprint ?? '—'}</code>],
          ['Certificate fingerprint (SHA-256)', <code data-testid="shop-fingerprint">{s.fingerprint}</code>],
          ['Valid', `${formatTime(s.notBefore)} – ${formatTime(s.notAfter)}`],
          ['Address', <code>{s.url}</code>],
        ]}
      />
    </section>
  );
}

export function OrderSheetView(props: { order: OrderSheet }) {
  const o = props.order;
  return (
    <section class="card" data-testid="order-sheet">
      <h3 style="margin-top:0">Order sheet (fig. 14)</h3>
      <Fields rows={[['Order id', <code>{o.orderId}</code>], ['Shop id', <code>{o.merchantId}</code>], ['Purchaser id', <code>{o.purchaserId}</code>], ['Payment mode', o.paymentMode], ['Ordered', formatTime(o.time)]]} />
      <LinesTable lines={o.lines} total={o.total} />
    </section>
  );
}

export function InvoiceView(props: { invoice: Invoice }) {
  const i = props.invoice;
  return (
    <section class="card" data-testid="invoice">
      <h3 style="margin-top:0">Invoice (fig. 15)</h3>
      <p style="font-size:1.4rem;font-weight:700;margin:0.25rem 0" data-testid="invoice-amount">
        {formatMoney(i.amount)}
      </p>
      <LinesTable lines={i.lines} total={i.amount} testid="invoice-lines" />
      <Fields
        rows={[
          ['Transaction id', <code data-testid="invoice-transaction">{i.transactionId}</code>],
          ['Shop', `${i.shop.name} (${i.shop.id})`],
          ['Purchaser id', <code>{i.purchaserId}</code>],
          ['Payment mode', i.paymentMode],
          ['Payment server', `${i.paymentServer.name} (${i.paymentServer.id})`],
          ['Payment server fingerprint', <code>{i.paymentServer.fingerprint}</code>],
          ['Payment address', <code>{i.paymentAddress}</code>],
          ['Billed', formatTime(i.billTime)],
          ['Pay by', formatTime(i.paymentDueTime)],
          ['Refunds until', formatTime(i.refundDeadline)],
        ]}
      />
    </section>
  );
}

export function ReceiptView(props: { receipt: Receipt }) {
  const r = props.receipt;
  return (
    <section class="card" data-testid="receipt">
      <h3 style="margin-top:0">Receipt (fig. 16)</h3>
      <p style="font-size:1.3rem;font-weight:700;margin:0.25rem 0">Received {formatMoney(r.amountReceived)}</p>
      <Fields
        rows={[
          ['Transaction id', <code data-testid="receipt-transaction">{r.transactionId}</code>],
          ['Purchaser id', <code>{r.purchaserId}</code>],
          ['Mode', r.mode],
          ['Shop', `${r.shop.name} (${r.shop.id})`],
          ['Received by', `${r.recipient.name} (${r.recipient.id})`],
          ['Time', formatTime(r.time)],
          ['Invoice hash', <code>{r.invoiceHash}</code>],
        ]}
      />
    </section>
  );
}

export function RefundDocuments(props: { refund: RefundView }) {
  const r = props.refund;
  const p = r.permit;
  return (
    <div class="grid" data-testid={`refund-${r.requestId}`}>
      <section class="card">
        <h4 style="margin-top:0">Repayment request (fig. 24)</h4>
        <Fields rows={[['Request id', <code>{r.request.requestId}</code>], ['Transaction id', <code>{r.request.transactionId}</code>], ['Amount', formatMoney(r.request.amount)], ['Reason', r.request.reason], ['Time', formatTime(r.request.time)]]} />
      </section>
      <section class="card">
        <h4 style="margin-top:0">Repayment permit (fig. 25)</h4>
        {p ? (
          <Fields
            rows={[
              ['Permit id', <code>{p.permitId}</code>],
              ['Transaction id', <code>{p.transactionId}</code>],
              ['Recipient id', <code>{p.recipientId}</code>],
              ['Amount', formatMoney(p.amount)],
              ['Mode', p.mode],
              ['Shop', `${p.shop.name} (${p.shop.id})`],
              ['Repayer', `${p.repayer.name} (${p.repayer.id}) at ${p.repayer.address}`],
              ['Permitted', formatTime(p.permissionTime)],
              ['Collect by', formatTime(p.dueTime)],
            ]}
          />
        ) : (
          <p class="muted">No permit yet{r.state === 'AWAITING_APPROVAL' ? ': the shop has to approve the request' : ''}.</p>
        )}
      </section>
    </div>
  );
}
