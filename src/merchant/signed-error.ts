// Message 220: a refusal of a receipt, signed by the shop (patent step 670),
// so the shopper holds evidence of why the shop did not accept its payment and
// a relay cannot forge or alter the refusal.
import { decodeBase64url } from '../protocol/base64url.ts';
import { parseDocument, SIGNED_ERROR_TYP, type JwsGeneral, type SignedError } from '../protocol/documents/index.ts';
import { documentHash, signDocument } from '../protocol/jws.ts';
import type { MerchantDeps } from './deps.ts';
import { wireJws } from './receipts.ts';

const MAX_MESSAGE = 500;

// The signed document's text may not carry control or bidi characters (a
// trusted display must show what was signed); refusal messages can quote what
// the attacker sent (a JWS header, a certificate field), so they are cleaned.
const UNDISPLAYABLE = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/gu;

function displayable(message: string): string {
  const clean = message.toWellFormed().replace(UNDISPLAYABLE, '\uFFFD');
  const text = clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1).toWellFormed()}…` : clean;
  return text.length > 0 ? text : 'refused';
}

/** The refusal as a signed document; `subject` is the document refused, when its payload decodes. */
export async function signRefusal(
  deps: MerchantDeps,
  refusal: { transactionId: string; code: string; message: string; subject?: JwsGeneral | undefined },
): Promise<JwsGeneral> {
  const bytes = refusal.subject ? decodeBase64url(refusal.subject.payload) : undefined;
  const doc: SignedError = {
    typ: SIGNED_ERROR_TYP,
    transactionId: refusal.transactionId,
    code: refusal.code,
    message: displayable(refusal.message),
    ...(bytes ? { subjectHash: await documentHash(bytes) } : {}),
    time: deps.clock().toISOString(),
  };
  const self = parseDocument(SIGNED_ERROR_TYP, doc);
  if (!self.ok) throw new Error(`merchant made an invalid signed error: ${JSON.stringify(self.details)}`);
  return wireJws(await signDocument({ payload: doc, typ: SIGNED_ERROR_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c }));
}
