// A document's id (DESIGN §5): SHA-256 over its canonical payload bytes, base64url.
// Because verifyDocument insists the payload is RFC 8785 canonical, one document
// has exactly one hash, whoever serialised it.
import { encodeBase64url } from '../base64url.ts';

export async function documentHash(payloadBytes: Uint8Array): Promise<string> {
  if (!(payloadBytes instanceof Uint8Array)) throw new TypeError('payloadBytes must be a Uint8Array');
  return encodeBase64url(new Uint8Array(await crypto.subtle.digest('SHA-256', payloadBytes.slice())));
}
