// The lines of an order as the patent's figures show them (figs. 12, 14, 15):
// article, name, quantity, unit price, amount, and the total when given.
import { formatMoney, parseMoney, timesMoney } from './money.ts';

export type Line = { article: string; name: string; quantity: number; unitPrice: string };

export function LinesTable(props: { lines: readonly Line[]; total?: string; testid?: string }) {
  return (
    <div class="table-wrap">
      <table data-testid={props.testid}>
        <thead>
          <tr>
            <th>Article</th>
            <th>Name</th>
            <th class="num">Quantity</th>
            <th class="num">Unit price</th>
            <th class="num">Amount</th>
          </tr>
        </thead>
        <tbody>
          {props.lines.map((l) => {
            const unit = parseMoney(l.unitPrice);
            return (
              <tr key={l.article}>
                <td>
                  <code>{l.article}</code>
                </td>
                <td>{l.name}</td>
                <td class="num">{l.quantity}</td>
                <td class="num">{formatMoney(l.unitPrice)}</td>
                <td class="num">{unit ? formatMoney(timesMoney(unit, l.quantity)) : '—'}</td>
              </tr>
            );
          })}
        </tbody>
        {props.total !== undefined && (
        <tfoot>
          <tr>
            <th colSpan={4}>Total</th>
            <td class="num">
              <strong>{formatMoney(props.total)}</strong>
            </td>
          </tr>
        </tfoot>
        )}
      </table>
    </div>
  );
}
