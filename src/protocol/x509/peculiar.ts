// The one entry point to @peculiar/x509: the Reflect shim must run first, and
// the library must use the platform's WebCrypto (Node and browsers alike).
import './reflect-shim.ts';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
