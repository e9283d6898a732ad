// `quittance ca …`: run and operate the registration and certification authority.
import type { Group } from '../../command.ts';
import { issue, crl, revoke, show } from './certificates.ts';
import { approve, list, reject } from './registrations.ts';
import { init, serve } from './setup.ts';

export const caGroup: Group = {
  name: 'ca',
  summary: 'registration and certification authority',
  commands: [init, serve, list, approve, reject, revoke, issue, crl, show],
};
