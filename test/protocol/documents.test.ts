import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  COMPLETION_TYP,
  DENOMINATION_KEYS_TYP,
  DOCUMENT_INFO,
  DOCUMENT_TYPES,
  HELLO_RESPONSE_TYP,
  INVOICE_TYP,
  MONEY_RECEPTION_REQUEST_TYP,
  MONEY_RECEPTION_RESPONSE_TYP,
  ORDER_TYP,
  parseDocument,
  PURSE_REGISTRATION_TYP,
  REMITTANCE_REQUEST_TYP,
  RECEIPT_TYP,
  REPAYMENT_PERMIT_TYP,
  REPAYMENT_RECEIPT_TYP,
  REPAYMENT_REQUEST_TYP,
  REPAYMENT_STATE_TYP,
  rfc3339UtcToMillis,
  SETTLEMENT_QUERY_TYP,
  SETTLEMENT_REPORT_TYP,
  SIGNED_ERROR_TYP,
} from '../../src/protocol/documents/index.ts';
import type { DocumentTyp } from '../../src/protocol/documents/index.ts';
import { canonicalize } from '../../src/protocol/rfc8785.ts';

const h = (s: string) => createHash('sha256').update(s).digest('base64url');
const shop = { id: 'tokyo-online', name: 'Tokyo On-line Mail Order Dealer' };
const payer = { id: 'abc-pay', name: 'ABC Money Collection Service' };
const lines = [
  { article: 'A', name: 'Article A', quantity: 1, unitPrice: 'JPY:1000' },
  { article: 'C', name: 'Article C', quantity: 2, unitPrice: 'JPY:1500' },
];
const receiptJws = { payload: 'eyJhIjoxfQ', signatures: [{ protected: 'eyJhbGciOiJFZERTQSJ9', signature: 'c2ln' }] };

// The patent's own example (figs. 14-16, 25), transaction 210193.
const EXAMPLES: Record<DocumentTyp, Record<string, unknown>> = {
  [HELLO_RESPONSE_TYP]: { typ: HELLO_RESPONSE_TYP, nonce: 'n0nce-n0nce-n0nce-n0nce', merchant: { ...shop, url: 'https://shop.example/' }, time: '1996-12-08T05:19:00Z' },
  [ORDER_TYP]: {
    typ: ORDER_TYP, orderId: 'order-0123456789abcdefghij', merchantId: shop.id, purchaserId: 'p3789817', lines, total: 'JPY:4000',
    paymentMode: 'ecash', sellingConditionsHash: h('conditions'), time: '1996-12-08T05:19:30Z',
  },
  [INVOICE_TYP]: {
    typ: INVOICE_TYP, transactionId: '210193', purchaserId: 'p3789817', lines, amount: 'JPY:4000', paymentMode: 'ecash',
    shop, paymentServer: payer, paymentAddress: 'http://www.abc.com/', billTime: '1996-12-08T05:20:00Z',
    paymentDueTime: '1996-12-10T08:00:00Z', refundDeadline: '1997-01-08T05:20:00.000Z', sellingConditionsHash: h('conditions'), orderHash: h('order'),
  },
  [MONEY_RECEPTION_REQUEST_TYP]: {
    typ: MONEY_RECEPTION_REQUEST_TYP, transactionId: '210193', invoiceHash: h('invoice'), purchaserId: 'p3789817', paymentServerId: payer.id, time: '1996-12-08T05:20:10Z',
  },
  [MONEY_RECEPTION_RESPONSE_TYP]: {
    typ: MONEY_RECEPTION_RESPONSE_TYP, transactionId: '210193', invoiceHash: h('invoice'), paymentServerId: payer.id, accepted: true, time: '1996-12-08T05:20:11Z',
  },
  [RECEIPT_TYP]: {
    typ: RECEIPT_TYP, transactionId: '210193', purchaserId: 'p3789817', amountReceived: 'JPY:4000', mode: 'ecash', shop, recipient: payer,
    time: '1996-12-08T05:20:30Z', invoiceHash: h('invoice'),
  },
  [COMPLETION_TYP]: { typ: COMPLETION_TYP, transactionId: '210193', receiptHash: h('receipt'), state: 'paid', time: '1996-12-08T05:21:00Z' },
  [SIGNED_ERROR_TYP]: {
    typ: SIGNED_ERROR_TYP, transactionId: '210193', code: 'MERCHANT_RECEIPT_INVALID', message: 'The receipt is not signed by the payment server named in the invoice.',
    subjectHash: h('receipt'), time: '1996-12-08T05:21:00Z',
  },
  [REPAYMENT_REQUEST_TYP]: {
    typ: REPAYMENT_REQUEST_TYP, requestId: 'rq-1', transactionId: '210193', shopId: shop.id, amount: 'JPY:4000', lines, reason: 'Goods returned', time: '1996-12-12T09:00:00Z',
  },
  [REPAYMENT_PERMIT_TYP]: {
    typ: REPAYMENT_PERMIT_TYP, permitId: 'pm-1', transactionId: '210193', requestHash: h('request'), recipientId: 'p3789817', amount: 'JPY:4000', mode: 'ecash', shop,
    repayer: { ...payer, address: 'http://www.abc.com/' }, permissionTime: '1996-12-12T09:10:00Z', dueTime: '1996-12-15T09:10:00Z',
  },
  [REPAYMENT_RECEIPT_TYP]: {
    typ: REPAYMENT_RECEIPT_TYP, permitId: 'pm-1', permitHash: h('permit'), transactionId: '210193', recipientId: 'p3789817', amount: 'JPY:4000', time: '1996-12-12T10:00:00Z',
  },
  [REPAYMENT_STATE_TYP]: {
    typ: REPAYMENT_STATE_TYP, transactionId: '210193', permitId: 'pm-1', shopId: shop.id, amount: 'JPY:4000', state: 'completed', repaymentReceipt: receiptJws, time: '1996-12-12T10:00:05Z',
  },
  [DENOMINATION_KEYS_TYP]: {
    typ: DENOMINATION_KEYS_TYP, paymentServer: payer, issuedAt: '1996-12-08T00:00:00Z',
    keys: [{ denominationId: h('spki'), value: 'JPY:64', publicKey: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', validFrom: '1996-12-01T00:00:00Z', withdrawUntil: '1996-12-31T00:00:00Z', depositUntil: '1997-12-01T00:00:00Z' }],
  },
  [PURSE_REGISTRATION_TYP]: { typ: PURSE_REGISTRATION_TYP, partyId: 'p3789817', purseKey: h('purse key'), paymentServerId: payer.id, time: '1996-12-08T05:00:00Z' },
  [REMITTANCE_REQUEST_TYP]: {
    typ: REMITTANCE_REQUEST_TYP, permitId: 'pm-1', permitHash: h('permit'), transactionId: '210193', recipientId: 'p3789817', paymentServerId: payer.id, amount: 'JPY:4000', mode: 'ecash',
    envelopesHash: h('envelopes'), time: '1996-12-12T09:20:00Z',
  },
  [SETTLEMENT_REPORT_TYP]: {
    typ: SETTLEMENT_REPORT_TYP, settlementId: 'st-0123456789abcdef0123456789abcdef', shop, paymentServer: payer, currency: 'JPY', amount: 'JPY:3000',
    payoutAccount: 'QB07277690082177', time: '1996-12-31T00:00:00Z',
    items: [
      { transactionId: '210193', kind: 'payment', amount: 'JPY:4000' },
      { transactionId: '210194', kind: 'payment', amount: 'JPY:1500' },
      { transactionId: '210193', kind: 'refund', permitId: 'pm-1', amount: 'JPY:2500' },
    ],
  },
  [SETTLEMENT_QUERY_TYP]: { typ: SETTLEMENT_QUERY_TYP, shopId: shop.id, paymentServerId: payer.id, since: '1996-12-01T00:00:00Z', time: '1997-01-02T00:00:00Z' },
};

const TYPS = Object.keys(DOCUMENT_TYPES) as DocumentTyp[];

function example(typ: DocumentTyp, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...structuredClone(EXAMPLES[typ]), ...patch };
}

function issues(typ: string, value: unknown): { path: string; message: string }[] {
  const r = parseDocument(typ, value);
  assert.equal(r.ok, false, `${typ} should be rejected`);
  if (r.ok) return [];
  assert.equal(r.code, 'PROTO_DOCUMENT_INVALID');
  return r.details as { path: string; message: string }[];
}

function paths(typ: string, value: unknown): string[] {
  return issues(typ, value).map((i) => i.path);
}

void describe('document catalogue', () => {
  void test('every typ is distinct, follows quittance.<kind>.v1+json, and is its payload typ literal', () => {
    assert.equal(TYPS.length, 17);
    assert.equal(new Set(TYPS).size, TYPS.length);
    for (const typ of TYPS) {
      assert.match(typ, /^quittance\.[a-z-]+\.v1\+json$/);
      assert.ok(DOCUMENT_INFO[typ], typ);
    }
    const numbered = TYPS.filter((t) => DOCUMENT_INFO[t].message !== undefined);
    assert.equal(numbered.length, 13);
    assert.equal(new Set(numbered.map((t) => DOCUMENT_INFO[t].message)).size, numbered.length);
  });

  void test('a valid example of every document parses to itself and is canonicalizable', () => {
    for (const typ of TYPS) {
      const r = parseDocument(typ, example(typ));
      assert.deepEqual(r, { ok: true, value: EXAMPLES[typ] }, typ);
      assert.equal(canonicalize(EXAMPLES[typ]).ok, true, typ);
    }
  });

  void test('an unknown field is rejected in every document, top level and nested', () => {
    for (const typ of TYPS) {
      const found = issues(typ, example(typ, { extra: 1 }));
      assert.ok(found.some((i) => i.message.includes('extra')), typ);
    }
    const inv = example(INVOICE_TYP);
    (inv.shop as Record<string, unknown>).evil = true;
    assert.deepEqual(paths(INVOICE_TYP, inv), ['shop']);
  });

  void test('a payload under another kind\'s typ is rejected at "typ"', () => {
    for (const typ of TYPS) {
      const other = TYPS[(TYPS.indexOf(typ) + 1) % TYPS.length]!;
      assert.ok(paths(other, example(typ)).includes('typ'), `${typ} as ${other}`);
    }
  });

  void test('unknown typ, including prototype names, is PROTO_DOCUMENT_INVALID', () => {
    for (const typ of ['quittance.coin.v1+json', 'constructor', '__proto__', '']) {
      assert.deepEqual(paths(typ, {}), ['(typ)']);
    }
    assert.throws(() => parseDocument(42 as unknown as string, {}), TypeError);
  });

  void test('non-object payloads are rejected at the root', () => {
    for (const v of [null, [], 'x', 1]) assert.deepEqual(paths(ORDER_TYP, v), ['(root)']);
  });
});

void describe('field rules', () => {
  void test('a wrong type is rejected with its path', () => {
    const inv = example(INVOICE_TYP);
    (inv.lines as Record<string, unknown>[])[1]!.quantity = '2';
    assert.ok(paths(INVOICE_TYP, inv).includes('lines.1.quantity'));
    assert.deepEqual(paths(RECEIPT_TYP, example(RECEIPT_TYP, { amountReceived: 4000 })), ['amountReceived']);
    assert.deepEqual(paths(MONEY_RECEPTION_RESPONSE_TYP, example(MONEY_RECEPTION_RESPONSE_TYP, { accepted: 'true' })), ['accepted']);
  });

  void test('amounts must be wire amounts', () => {
    for (const bad of ['JPY:4000.0', 'EUR:1.234', '4000', 'JPY:-1', 'XXX:1']) {
      assert.deepEqual(paths(RECEIPT_TYP, example(RECEIPT_TYP, { amountReceived: bad })), ['amountReceived'], bad);
    }
  });

  void test('times are RFC 3339 UTC with Z, real dates, at most milliseconds', () => {
    for (const bad of ['1996-12-08T05:20:30+00:00', '1996-12-08T05:20:30z', '1996-12-08 05:20:30Z', '1996-02-30T00:00:00Z', '1996-12-08T24:00:00Z', '1996-12-08T05:20:30.1234Z', '1996-12-08']) {
      assert.deepEqual(paths(COMPLETION_TYP, example(COMPLETION_TYP, { time: bad })), ['time'], bad);
    }
    assert.equal(rfc3339UtcToMillis('1970-01-01T00:00:01.5Z'), 1500);
    assert.equal(rfc3339UtcToMillis('1996-02-29T00:00:00Z'), Date.UTC(1996, 1, 29));
  });

  void test('hashes are 43-char canonical base64url', () => {
    const good = h('x');
    for (const bad of [good + 'A', good.slice(1), good.slice(0, 42) + 'B', good.slice(0, 42) + '=', good.replace(/.$/, '+')]) {
      assert.deepEqual(paths(COMPLETION_TYP, example(COMPLETION_TYP, { receiptHash: bad })), ['receiptHash'], bad);
    }
  });

  void test('purchaser id: a certified party id or an RFC 7638 thumbprint', () => {
    assert.equal(parseDocument(ORDER_TYP, example(ORDER_TYP, { purchaserId: h('jwk') })).ok, true);
    for (const bad of ['P3789817', 'a b', 'x'.repeat(64)]) assert.deepEqual(paths(ORDER_TYP, example(ORDER_TYP, { purchaserId: bad })), ['purchaserId'], bad);
  });

  void test('URLs: http(s) only, canonical, no user info or fragment', () => {
    for (const bad of ['ftp://www.abc.com/', 'http://www.abc.com', 'HTTP://www.abc.com/', 'https://bank.example@evil.example/', 'https://pay.example/#x', 'javascript:alert(1)', 'pay']) {
      assert.deepEqual(paths(INVOICE_TYP, example(INVOICE_TYP, { paymentAddress: bad })), ['paymentAddress'], bad);
    }
    assert.equal(parseDocument(INVOICE_TYP, example(INVOICE_TYP, { paymentAddress: 'https://pay.example:8443/collect?x=1' })).ok, true);
  });

  void test('text: bounded, no control or bidi-override characters', () => {
    for (const bad of ['', 'a\nb', 'evil\u202Egnp.exe', 'x'.repeat(501)]) {
      assert.deepEqual(paths(SIGNED_ERROR_TYP, example(SIGNED_ERROR_TYP, { message: bad })), ['message'], JSON.stringify(bad));
    }
    assert.deepEqual(paths(SIGNED_ERROR_TYP, example(SIGNED_ERROR_TYP, { code: 'lower_case' })), ['code']);
  });

  void test('lines: 1 to 100, quantities 1 to 10^6 integers', () => {
    const line = lines[0]!;
    assert.ok(paths(ORDER_TYP, example(ORDER_TYP, { lines: [], total: 'JPY:0' })).includes('lines'));
    assert.ok(paths(ORDER_TYP, example(ORDER_TYP, { lines: Array(101).fill(line), total: 'JPY:101000' })).includes('lines'));
    assert.equal(parseDocument(ORDER_TYP, example(ORDER_TYP, { lines: Array(100).fill(line), total: 'JPY:100000' })).ok, true);
    for (const q of [0, -1, 1.5, 1_000_001]) {
      assert.ok(paths(ORDER_TYP, example(ORDER_TYP, { lines: [{ ...line, quantity: q }] })).includes('lines.0.quantity'), String(q));
    }
  });
});

void describe('cross-field rules', () => {
  void test('an order may name the shop API offer it buys (offerId, a short id)', () => {
    assert.equal(parseDocument(ORDER_TYP, example(ORDER_TYP, { offerId: 'of-0123456789abcdef0123456789abcdef' })).ok, true);
    for (const bad of ['', 'of 1', 'x'.repeat(65), 42, null]) assert.deepEqual(paths(ORDER_TYP, example(ORDER_TYP, { offerId: bad })), ['offerId'], String(bad));
  });

  void test('invoice and order totals must equal the sum of their lines', () => {
    assert.deepEqual(paths(INVOICE_TYP, example(INVOICE_TYP, { amount: 'JPY:3999' })), ['amount']);
    assert.deepEqual(paths(ORDER_TYP, example(ORDER_TYP, { total: 'JPY:5000' })), ['total']);
    assert.deepEqual(paths(REPAYMENT_REQUEST_TYP, example(REPAYMENT_REQUEST_TYP, { amount: 'JPY:1000' })), ['amount']);
    // A partial refund without lines needs no sum.
    assert.equal(parseDocument(REPAYMENT_REQUEST_TYP, example(REPAYMENT_REQUEST_TYP, { amount: 'JPY:1000', lines: undefined })).ok, true);
  });

  void test('all amounts in one currency', () => {
    const mixed = [lines[0], { ...lines[1], unitPrice: 'EUR:15.00' }];
    assert.deepEqual(paths(INVOICE_TYP, example(INVOICE_TYP, { lines: mixed })), ['lines.1.unitPrice']);
    assert.deepEqual(paths(INVOICE_TYP, example(INVOICE_TYP, { amount: 'EUR:40.00' })), ['lines.0.unitPrice']);
  });

  void test('a line total past the amount bound is refused, not wrapped', () => {
    const huge = [{ ...lines[0], unitPrice: 'JPY:9007199254740991', quantity: 2 }];
    assert.deepEqual(paths(ORDER_TYP, example(ORDER_TYP, { lines: huge, total: 'JPY:0' })), ['lines.0']);
  });

  void test('payment due after bill time; refund deadline not before it; permit due after permission', () => {
    const bill = EXAMPLES[INVOICE_TYP].billTime;
    assert.deepEqual(paths(INVOICE_TYP, example(INVOICE_TYP, { paymentDueTime: bill })), ['paymentDueTime']);
    assert.deepEqual(paths(INVOICE_TYP, example(INVOICE_TYP, { refundDeadline: '1996-12-08T05:19:59.999Z' })), ['refundDeadline']);
    assert.equal(parseDocument(INVOICE_TYP, example(INVOICE_TYP, { refundDeadline: bill })).ok, true);
    assert.deepEqual(paths(REPAYMENT_PERMIT_TYP, example(REPAYMENT_PERMIT_TYP, { dueTime: '1996-12-12T09:09:59Z' })), ['dueTime']);
  });

  void test('repayment state carries the receipt exactly when completed', () => {
    assert.deepEqual(paths(REPAYMENT_STATE_TYP, example(REPAYMENT_STATE_TYP, { repaymentReceipt: undefined })), ['repaymentReceipt']);
    assert.deepEqual(paths(REPAYMENT_STATE_TYP, example(REPAYMENT_STATE_TYP, { state: 'remitted' })), ['repaymentReceipt']);
    assert.equal(parseDocument(REPAYMENT_STATE_TYP, example(REPAYMENT_STATE_TYP, { state: 'remitted', repaymentReceipt: undefined })).ok, true);
    assert.deepEqual(paths(REMITTANCE_REQUEST_TYP, example(REMITTANCE_REQUEST_TYP, { envelopesHash: undefined })), ['envelopesHash']);
    assert.deepEqual(paths(REMITTANCE_REQUEST_TYP, example(REMITTANCE_REQUEST_TYP, { mode: 'account' })).sort(), ['envelopesHash', 'purseKey']);
    const withHeader = { ...receiptJws, signatures: [{ ...receiptJws.signatures[0], header: { kid: 'x' } }] };
    assert.ok(paths(REPAYMENT_STATE_TYP, example(REPAYMENT_STATE_TYP, { repaymentReceipt: withHeader })).includes('repaymentReceipt.signatures.0'));
  });

  void test('a settlement report adds up: amount = payments − refunds of its items, one currency, permit iff refund', () => {
    const items = EXAMPLES[SETTLEMENT_REPORT_TYP].items as Record<string, unknown>[];
    assert.deepEqual(paths(SETTLEMENT_REPORT_TYP, example(SETTLEMENT_REPORT_TYP, { amount: 'JPY:5500' })), ['amount']);
    assert.deepEqual(paths(SETTLEMENT_REPORT_TYP, example(SETTLEMENT_REPORT_TYP, { currency: 'EUR' })), ['amount']);
    assert.deepEqual(paths(SETTLEMENT_REPORT_TYP, example(SETTLEMENT_REPORT_TYP, { items: [items[0], { ...items[1], permitId: 'pm-2' }, items[2]] })), ['items.1.permitId']);
    assert.deepEqual(paths(SETTLEMENT_REPORT_TYP, example(SETTLEMENT_REPORT_TYP, { items: [items[0], items[1], { ...items[2], amount: 'EUR:25.00' }] })), ['items.2.amount']);
    assert.ok(paths(SETTLEMENT_REPORT_TYP, example(SETTLEMENT_REPORT_TYP, { items: [items[2]], amount: 'JPY:-2500' })).includes('amount'));
    assert.deepEqual(paths(SETTLEMENT_REPORT_TYP, example(SETTLEMENT_REPORT_TYP, { items: [] })), ['items']);
    assert.deepEqual(paths(SETTLEMENT_REPORT_TYP, example(SETTLEMENT_REPORT_TYP, { payoutAccount: 'QB07277690082178' })), ['payoutAccount']);
  });

  void test('at most 20 issues are reported', () => {
    const many = Array(100).fill({ article: '', name: '', quantity: 0, unitPrice: 'x' });
    assert.equal(issues(ORDER_TYP, example(ORDER_TYP, { lines: many })).length, 20);
  });
});

void describe('robustness', () => {
  void test('any field replaced by any JSON value: a result, never a throw, and ok only if still well-typed', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPS), fc.nat(), fc.jsonValue(), (typ, pick, junk) => {
        const doc = example(typ);
        const keys = Object.keys(doc);
        const key = keys[pick % keys.length]!;
        doc[key] = junk;
        const r = parseDocument(typ, doc);
        if (r.ok) assert.equal(canonicalize(r.value).ok, true);
        else assert.equal(r.code, 'PROTO_DOCUMENT_INVALID');
        if (key === 'typ' && junk !== typ) assert.equal(r.ok, false);
      }),
      { numRuns: 1000 },
    );
  });
});
