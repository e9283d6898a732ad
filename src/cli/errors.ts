// Codes the command line itself reports (besides the codes of the modules it calls).
export const CLI_ERROR_CODES = [
  'CLI_KEY_CERT_MISMATCH',
  'CLI_CA_EXISTS',
  'CLI_PASSPHRASE_TOO_SHORT',
  'CLI_OUTPUT_EXISTS',
  'CLI_COUNTERSIGN_UNVERIFIED',
  'CLI_PORT_IN_USE',
  'CLI_DEMO_DATA_INVALID',
] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];
