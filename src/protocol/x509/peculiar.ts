// The one entry point to @peculiar/x509. Its dependency tsyringe refuses to
// load without a Reflect metadata polyfill, so the standard one is loaded
// first; and the library must use the platform's WebCrypto (Node and browsers
// alike). Import the library through here (or ./index.ts), never directly.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
