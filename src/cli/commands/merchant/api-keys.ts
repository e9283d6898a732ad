// `quittance merchant api-key create [--name N] | list | revoke ID`: keys for
// the shop's own backend to call the shop integration API (/v1/shop/…).
// Database only: no passphrase (the key is random, not signed by the shop).
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeySummary } from '../../../merchant/api-keys.ts';
import { Text } from '../../../protocol/documents/fields.ts';
import { EXIT, UsageError, type Command } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

function row(k: ApiKeySummary): string {
  return `${k.keyId}  ${k.revokedAt !== undefined ? `revoked ${k.revokedAt}` : 'active'.padEnd(32)}  created ${k.createdAt}${k.name !== undefined ? `  "${k.name}"` : ''}`;
}

export const apiKey: Command = {
  name: 'api-key',
  summary: 'API keys of the shop integration API: create (shown once), list, revoke',
  args: 'create | list | revoke ID',
  options: {
    data: S.DATA,
    db: S.DB,
    name: { type: 'string', description: 'create: a label for the key (e.g. the backend that uses it), at most 100 characters', valueName: 'NAME' },
    json: S.JSON_OUT,
  },
  details: `create prints the key (qk_<id>_<secret>) ONCE: only its SHA-256 is stored. The shop's backend
sends it as "Authorization: Bearer qk_…" to /v1/shop/…. list shows ids, labels and state, never keys.
revoke ID refuses the key from the next request on. Reads and writes the database only; no passphrase.`,
  async run({ values, positionals }, io) {
    const [action, ...rest] = positionals;
    const json = values.json === true;
    if (action === 'create') {
      if (rest.length > 0) throw new UsageError('api-key create takes no arguments (label: --name)');
      const name = typeof values.name === 'string' ? values.name : undefined;
      if (name !== undefined && !Text(100).safeParse(name).success) throw new UsageError('--name: 1 to 100 characters, no control characters');
      return S.withMerchantStore(values, async (m) => {
        const k = await createApiKey(m.db, { ...(name !== undefined ? { name } : {}), now: new Date() });
        printResult(io, json, k, `${k.key}\n`);
        if (!json) io.err(`API key ${k.keyId} created. It is shown only now: keep it in the shop backend's secrets.\n`);
        return EXIT.OK;
      });
    }
    if (values.name !== undefined) throw new UsageError('--name goes only with api-key create');
    if (action === 'list') {
      if (rest.length > 0) throw new UsageError('api-key list takes no arguments');
      return S.withMerchantStore(values, async (m) => {
        const keys = await listApiKeys(m.db);
        printResult(io, json, { keys }, keys.length === 0 ? 'no API keys (create one with `merchant api-key create`)\n' : keys.map(row).join('\n') + '\n');
        return EXIT.OK;
      });
    }
    if (action === 'revoke') {
      const id = rest[0];
      if (id === undefined || rest.length !== 1) throw new UsageError('give exactly one key id: api-key revoke ID (see api-key list)');
      return S.withMerchantStore(values, async (m) => {
        const r = await revokeApiKey(m.db, id, new Date());
        if (!r.ok) return failWith(io, json, r);
        printResult(io, json, r.value, `revoked ${r.value.keyId} (${r.value.revokedAt ?? ''})\n`);
        return EXIT.OK;
      });
    }
    throw new UsageError('api-key needs an action: create, list or revoke ID');
  },
};
