// `quittance wallet refund TX`: ask the shop for money back (1110 → 1140),
// claim the permit at the payment server (1150 → 1180: fresh coins, or the
// purse credited) and hand over the signed repayment receipt (1190 → 1200).
// `--resume` finishes refunds a crash, a lost answer or a pending approval
// interrupted, with the identical requests.
import { refund, resumeRefunds, parseRefundAmount, type RefundEvent, type RefundPrompt } from '../../../wallet/refund.ts';
import { EXIT, UsageError, type Command, type Io } from '../../command.ts';
import { askYes } from './buy.ts';
import * as S from './shared.ts';

function permitText(p: RefundPrompt['permit']): string {
  return [
    `Repayment permit ${p.permitId} (signed by ${p.shop.name}, ${p.shop.id}), verified:`,
    `  transaction:       ${p.transactionId}`,
    `  amount:            ${p.amount} (${p.mode === 'account' ? 'into your purse' : 'as fresh coins'})`,
    `  paid back by:      ${p.repayer.name} (${p.repayer.id}) at ${p.repayer.address}`,
    `  claim by:          ${p.dueTime}`,
  ].join('\n');
}

function displayer(io: Io, json: boolean): (e: RefundEvent) => void {
  return (e) => {
    if (json) {
      io.err(JSON.stringify(e) + '\n');
      return;
    }
    if (e.kind === 'requested') io.err(`asked the shop to refund ${e.amount} of ${e.transactionId} (request ${e.requestId})\n`);
    if (e.kind === 'awaiting-approval') io.err("the shop's operator must approve this refund; run `quittance wallet refund --resume` later\n");
    if (e.kind === 'claiming') io.err(e.purseKey !== undefined ? `claiming the refund into your purse ${e.purseKey}\n` : `claiming the refund as ${e.coins} fresh coin${e.coins === 1 ? '' : 's'}\n`);
    if (e.kind === 'remitted') io.err(`the payment server paid back ${e.amount}${e.coins > 0 ? ` (${e.coins} coins, verified)` : ''}\n`);
    if (e.kind === 'completed') io.err('your signed repayment receipt was delivered and acknowledged\n');
  };
}

export const refundCommand: Command = {
  name: 'refund',
  summary: 'get money back for a purchase: signed request, merchant permit, payment from the payment server, signed receipt',
  options: {
    data: S.DATA,
    amount: { type: 'string', description: 'how much, e.g. JPY:1000 (default: all that is left of the purchase)', valueName: 'AMOUNT' },
    reason: { type: 'string', description: 'why (shown to the shop; default "refund")', valueName: 'TEXT' },
    yes: { type: 'boolean', description: 'claim the permitted refund without asking (scripts)' },
    resume: { type: 'boolean', description: 'finish interrupted refunds (or only the request id given as argument)' },
    json: S.JSON_OUT,
  },
  args: 'TX | --resume [REQUEST]',
  details: `Signs the repayment request with the key that signed the order (your certificate, or the
anonymous purchase's per-order key derived from the seed), so only you can ask. The shop's
signed permit is checked (our request, our amount, the invoice's payment server) and shown
for y/N (--yes accepts); the claim sends the permit countersigned by the same key, with
fresh blinded coins derived from the seed (mode ecash) or your purse (mode account), so an
intercepted permit pays nobody else. Every request is stored before it is sent: after a
crash, a lost answer, or while the shop's operator has not approved yet, run
'quittance wallet refund --data DIR --resume'; nothing is paid twice. A permit left
unclaimed past its due time is dropped (WALLET_REFUND_EXPIRED) and may be asked for again.
Several partial refunds are allowed; together they never exceed what was paid.`,
  async run({ values, positionals }, io) {
    const json = Boolean(values.json);
    if (values.resume) {
      for (const o of ['amount', 'reason']) if (values[o] !== undefined) throw new UsageError(`--${o} does not go with --resume (the refund already names it)`);
      if (positionals.length > 1) throw new UsageError('--resume takes at most one request id');
    } else if (positionals.length !== 1) throw new UsageError('give the transaction id of the purchase (see `wallet history`)');
    const amount = typeof values.amount === 'string' ? parseRefundAmount(values.amount) : undefined;
    if (amount && !amount.ok) throw new UsageError(amount.message);
    const reason = typeof values.reason === 'string' ? values.reason : 'refund';
    if (reason.length === 0 || reason.length > 500) throw new UsageError('--reason: 1 to 500 characters');
    return S.withWallet(values, io, async (w) => {
      const pass = await S.passphrase(io, 'Wallet passphrase: ');
      const seed = await w.unlockSeed(pass);
      if (!seed.ok) return S.fail(io, json, seed);
      try {
        const deps = {
          now: S.now,
          fetch,
          seed: seed.value,
          passphrase: pass,
          confirm: async (p: RefundPrompt) => {
            if (json) io.err(JSON.stringify(p) + '\n');
            else io.err(permitText(p.permit) + '\n');
            return values.yes ? true : askYes(io, 'Claim this refund?');
          },
          display: displayer(io, json),
        };
        if (values.resume) {
          const r = await resumeRefunds(w, deps, positionals[0]);
          if (!r.ok) return S.fail(io, json, r);
          const v = r.value;
          const text = v.resumed.length + v.failed.length === 0 ? 'no unfinished refunds\n' : [...v.resumed.map((x) => `${x.state}: ${x.requestId} ${x.amount}`), ...v.failed.map((x) => `not finished: ${x.requestId}: ${x.code} ${x.message}`)].join('\n') + '\n';
          S.printResult(io, json, v, text);
          return v.failed.length === 0 ? EXIT.OK : EXIT.FAILED;
        }
        const r = await refund(w, { transactionId: positionals[0]!, ...(amount?.ok ? { amount: amount.value } : {}), reason }, deps);
        if (!r.ok) return S.fail(io, json, r);
        const v = r.value;
        const text = v.state === 'AWAITING_APPROVAL' ? `AWAITING_APPROVAL: ${v.requestId} — ${v.amount}; run \`quittance wallet refund --resume\` once the shop approves\n` : `${v.state}: ${v.requestId} — ${v.amount} refunded for ${v.transactionId}${v.coins ? ` as ${v.coins} coins` : ''}\n`;
        S.printResult(io, json, v, text);
        return EXIT.OK;
      } finally {
        seed.value.fill(0);
      }
    });
  },
};
