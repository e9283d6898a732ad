// Signed documents: JWS general JSON serialization over RFC 8785 payloads (DESIGN §5).
export { signDocument, countersign } from './jws/sign.ts';
export { verifyDocument, type VerifyPolicy, type VerifiedDocument, type VerifyCode, type JwsCode } from './jws/verify.ts';
export { documentHash } from './jws/document-hash.ts';
export {
  JWS_ALGORITHMS,
  JWS_LIMITS,
  type GeneralJws,
  type JwsAlgorithm,
  type PublicJwk,
  type SignerExpectation,
  type SignerOptions,
} from './jws/types.ts';
