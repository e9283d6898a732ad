// TLS for Quittance servers: certificates from the project's CA. Clients may
// present a certificate (mutual TLS); whether it is accepted, and as whom, is
// decided per route with the protocol core's path validation, not by OpenSSL.
import type { ServerOptions } from 'node:https';

export type TlsFiles = {
  /** Server certificate chain, PEM, leaf first (chain.pem from `quittance ca issue`). */
  certPem: string;
  /** Server private key, encrypted PKCS#8 PEM (key.pem from `quittance ca issue`). */
  keyPem: string;
  passphrase: string;
  /** CA certificate(s) whose client certificates are requested. */
  clientCaPem: string;
};

export function tlsServerOptions(t: TlsFiles): ServerOptions {
  return {
    cert: t.certPem,
    key: t.keyPem,
    passphrase: t.passphrase,
    ca: t.clientCaPem,
    requestCert: true,
    // Anonymous clients (registration, CRL) must still connect; operator routes
    // check the presented chain themselves and fail closed.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}
