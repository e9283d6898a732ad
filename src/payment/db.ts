// The payment server's tables, prefixed `payment_` so it can share a database
// with other services. Times are RFC 3339 UTC strings; money is bigint minor units.

/** One RSA denomination key (RFC 9474). The private key is stored wrapped (key-wrap.ts). */
export interface PaymentDenominationKeyTable {
  /** base64url SHA-256 of the SPKI DER, as published. */
  denomination_id: string;
  currency: string;
  /** Minor units, a power of two. */
  value: bigint;
  /**
   * 1, 2, 3 … per (currency, value): unique, so two processes rotating at once
   * collide and only one new key per denomination survives.
   */
  generation: number;
  /** SPKI DER, base64url (the published form). */
  public_key: string;
  /** AES-256-GCM wrapped PKCS#8 (key-wrap.ts), never the clear key. */
  private_key_wrapped: string;
  valid_from: string;
  withdraw_until: string;
  deposit_until: string;
  created_at: string;
}

export interface PaymentDatabase {
  payment_denomination_keys: PaymentDenominationKeyTable;
}
