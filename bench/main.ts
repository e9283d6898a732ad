// `npm run bench [-- NAME] [--json FILE]`: runs one benchmark suite (default:
// protocol). Each suite prints figures as ratios to a baseline measured in
// the same process, because this machine is shared and noisy.
const SUITES: Record<string, string> = {
  protocol: './protocol.ts',
  blind: './blind.ts',
  purchase: './purchase.ts',
};

const args = process.argv.slice(2);
const name = args[0] && !args[0].startsWith('-') ? args.shift()! : 'protocol';
const suite = SUITES[name];
if (!suite) {
  process.stderr.write(`unknown benchmark '${name}'; known: ${Object.keys(SUITES).join(', ')}\n`);
  process.exit(2);
}
// Suites read their own options from process.argv.
process.argv.splice(2, process.argv.length, ...args);
await import(suite);
