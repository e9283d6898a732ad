// The `quittance` command line: `quittance <group> <command> [options]`, and a
// few commands that belong to no party (`quittance audit`).
import { audit } from './commands/audit.ts';
import { bankGroup } from './commands/bank/index.ts';
import { demo } from './commands/demo.ts';
import { caGroup } from './commands/ca/index.ts';
import { docGroup } from './commands/doc.ts';
import { merchantGroup } from './commands/merchant/index.ts';
import { paymentGroup } from './commands/payment/index.ts';
import { verify } from './commands/verify.ts';
import { walletGroup } from './commands/wallet/index.ts';
import { EXIT, UsageError, commandHelp, groupHelp, parseCommandArgs, type Command, type Group, type Io } from './command.ts';

export const GROUPS: Group[] = [caGroup, bankGroup, paymentGroup, merchantGroup, walletGroup, docGroup];
/** Commands outside any group: `quittance <command> [options]`. */
export const COMMANDS: Command[] = [audit, verify, demo];

/** commandHelp for a command outside any group (its usage line has no group name). */
export function topCommandHelp(c: Command): string {
  return commandHelp('', c).replace(/^Usage: quittance {2}/, 'Usage: quittance ');
}

export function topHelp(): string {
  const lines = [
    'quittance — a secure electronic marketplace: signed orders, invoices, receipts and refunds.',
    '',
    'Usage: quittance <group> <command> [options]',
    '       quittance <command> [options]',
    '',
    'Groups:',
  ];
  for (const g of GROUPS) {
    lines.push(`  ${g.name.padEnd(8)} ${g.summary}`);
    for (const c of g.commands) lines.push(`    ${c.name.padEnd(14)} ${c.summary}`);
  }
  lines.push('', 'Commands:');
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(8)} ${c.summary}`);
  lines.push('', "Run 'quittance <group> <command> --help' for details. Passphrases come from QUITTANCE_PASSPHRASE or a prompt.");
  return lines.join('\n') + '\n';
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [groupName, commandName, ...rest] = argv;
  if (!groupName || groupName === '--help' || groupName === '-h' || groupName === 'help') {
    io.out(topHelp());
    return groupName ? EXIT.OK : EXIT.USAGE;
  }
  const top = COMMANDS.find((c) => c.name === groupName);
  if (top) return runTopCommand(top, argv.slice(1), io);
  const group = GROUPS.find((g) => g.name === groupName);
  if (!group) {
    io.err(`quittance: unknown group '${groupName}'\n\n${topHelp()}`);
    return EXIT.USAGE;
  }
  if (!commandName || commandName === '--help' || commandName === '-h') {
    io.out(groupHelp(group));
    return commandName ? EXIT.OK : EXIT.USAGE;
  }
  const command = group.commands.find((c) => c.name === commandName);
  if (!command) {
    io.err(`quittance ${group.name}: unknown command '${commandName}'\n\n${groupHelp(group)}`);
    return EXIT.USAGE;
  }
  try {
    const parsed = parseCommandArgs(command, rest);
    if (parsed.values.help) {
      io.out(commandHelp(group.name, command));
      return EXIT.OK;
    }
    return await command.run(parsed as { values: Record<string, unknown>; positionals: string[] }, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`quittance ${group.name} ${command.name}: ${e.message}\n\n${commandHelp(group.name, command)}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}

async function runTopCommand(command: Command, args: string[], io: Io): Promise<number> {
  try {
    const parsed = parseCommandArgs(command, args);
    if (parsed.values.help) {
      io.out(topCommandHelp(command));
      return EXIT.OK;
    }
    return await command.run(parsed as { values: Record<string, unknown>; positionals: string[] }, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`quittance ${command.name}: ${e.message}\n\n${topCommandHelp(command)}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}

/** Runs the CLI in this process with real stdio, signals and exit code. */
export function main(argv: string[]): void {
  const stopSignal = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const io: Io = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: process.env,
    stopSignal,
  };
  runCli(argv, io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // Infrastructure failures and bugs: one line, no stack unless asked.
      process.stderr.write(`quittance: ${(e as Error).message}\n`);
      if (process.env.QUITTANCE_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = EXIT.FAILED;
    },
  );
}

if (import.meta.main) main(process.argv.slice(2));
