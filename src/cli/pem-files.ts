// Reading the certificate and CRL files the offline commands take (`doc`,
// `verify`): a missing file or an undecodable block is one clear line.
import { readFile } from 'node:fs/promises';
import { pemToDer } from '../protocol/x509/index.ts';

export const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g;

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

export async function readText(path: string, what: string): Promise<string> {
  return (await readBytes(path, what)).toString('utf8');
}

/** All certificates in PEM text, DER, in file order (leaf first for a chain file). */
export function certificatesDer(pem: string, path: string): Uint8Array[] {
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new Error(`${path} holds no PEM certificate`);
  return blocks.map((b) => {
    const der = pemToDer(b, 'CERTIFICATE');
    if (!der) throw new Error(`${path}: a certificate block does not decode`);
    return der;
  });
}

/** Every certificate of a PEM file (e.g. the roots to trust). */
export async function readCertificates(path: string, what: string): Promise<Uint8Array[]> {
  return certificatesDer(await readText(path, what), path);
}

/** A CRL file: PEM blocks, or one DER CRL (what the CA serves at /v1/ca/crl). */
export async function readCrls(path: string): Promise<Uint8Array[]> {
  const raw = await readBytes(path, 'CRL');
  const text = raw.toString('latin1');
  if (!text.includes('-----BEGIN X509 CRL-----')) return [new Uint8Array(raw)];
  return (text.match(PEM_CRL) ?? []).map((b) => {
    const der = pemToDer(b, 'X509 CRL');
    if (!der) throw new Error(`${path}: a CRL block does not decode`);
    return der;
  });
}
