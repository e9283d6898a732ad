// The certificate chain a client presented in the TLS handshake (mutual TLS).
// Node's own chain check is switched off (rejectUnauthorized: false) because it
// knows nothing of roles or our CRLs: the caller validates the chain with the
// protocol core's validatePath, fail closed.
import type { FastifyRequest } from 'fastify';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

/** Leaf-first DER chain of the client's certificate, or undefined when none was presented. */
export function clientCertificateChain(request: FastifyRequest): Uint8Array[] | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  if (!leaf || !leaf.raw) return undefined;
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = leaf; c?.raw; c = c.issuerCertificate) {
    // The chain OpenSSL reports ends with a self-reference at the root.
    if (seen.has(c.fingerprint256)) break;
    seen.add(c.fingerprint256);
    chain.push(new Uint8Array(c.raw));
    if (chain.length > 8) break;
  }
  return chain;
}
