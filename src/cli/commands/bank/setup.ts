// `quittance bank init` and `quittance bank serve`.
import { resolve } from 'node:path';
import { createApp } from '../../../bank/app.ts';
import { initBank } from '../../../bank/init.ts';
import { openBank } from '../../../bank/open.ts';
import { listenAddress, listenOptions, serveUntilStopped, serverLogger } from '../../serve.ts';
import { EXIT, requireString, type Command } from '../../command.ts';

const DATA = { type: 'string', description: 'bank data directory (created by `bank init`)', valueName: 'DIR' } as const;
const DB = { type: 'string', description: 'database URL (sqlite:PATH or postgres://…); default from bank.json', valueName: 'URL' } as const;
const SELF_SERVICE = { type: 'boolean', description: 'DEMO ONLY: anyone may open an account without the operator' } as const;

export const init: Command = {
  name: 'init',
  summary: 'create a new bank (config with the operator token hash)',
  options: {
    data: DATA,
    name: { type: 'string', description: 'the bank\'s name (default "Quittance Bank")', valueName: 'NAME' },
    'self-service': SELF_SERVICE,
    db: DB,
  },
  details: `Writes DIR/bank.json. The operator token is printed once; only its SHA-256 is stored.
The database defaults to sqlite:DIR/bank.sqlite. Refuses to overwrite an existing bank.`,
  async run({ values }, io) {
    const dir = resolve(requireString(values, 'data'));
    const config: Record<string, unknown> = {};
    if (values['self-service']) config.selfService = true;
    if (typeof values.db === 'string') config.db = values.db;
    const bank = await initBank(dir, { ...(typeof values.name === 'string' ? { name: values.name } : {}), config });
    io.out(`bank created in ${dir}\n  config: ${bank.configPath}\n  operator token (shown once, keep it secret): ${bank.adminToken}\n`);
    return EXIT.OK;
  },
};

export const serve: Command = {
  name: 'serve',
  summary: 'run the bank server (accounts, transfers, history, statements)',
  options: {
    data: DATA,
    ...listenOptions(7002),
    db: DB,
    'self-service': SELF_SERVICE,
  },
  details: 'Prints one JSON line {"event":"ready","party":"bank","url":…} when it listens; stops on SIGINT/SIGTERM.',
  async run({ values }, io) {
    const address = listenAddress(values, 7002);
    const bank = await openBank(resolve(requireString(values, 'data')), {
      ...(typeof values.db === 'string' ? { db: values.db } : {}),
      ...(values['self-service'] ? { configOverrides: { selfService: true } } : {}),
    });
    try {
      const app = createApp(bank.deps, { logger: serverLogger(io) });
      await serveUntilStopped(app, io, 'bank', address);
    } finally {
      await bank.close();
    }
    return EXIT.OK;
  },
};
