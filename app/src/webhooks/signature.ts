import { createHmac, timingSafeEqual } from "node:crypto";

/** Header names of the signed webhook contract (inbound and outbound alike). */
export const HEADER_TIMESTAMP = "x-krc-timestamp";
export const HEADER_DELIVERY = "x-krc-delivery";
export const HEADER_SIGNATURE = "x-krc-signature";
/** How far a signed timestamp may be from the server's clock. */
export const MAX_SKEW_SECONDS = 300;

const TIMESTAMP = /^[0-9]{1,12}$/;
const DELIVERY = /^[A-Za-z0-9_-]{8,128}$/;
const SIGNATURE = /^v1=([0-9a-f]{64})$/;

/** HMAC-SHA256 over `<timestamp>.<deliveryId>.<raw body bytes>`, hex-encoded. */
export function computeSignature(secret: Uint8Array, timestamp: string, deliveryId: string, body: Uint8Array): string {
  return createHmac("sha256", secret).update(`${timestamp}.${deliveryId}.`).update(body).digest("hex");
}

/** The three headers for a body signed now. */
export function signHeaders(secret: Uint8Array, deliveryId: string, body: Uint8Array, nowSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const timestamp = String(nowSeconds);
  return {
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_DELIVERY]: deliveryId,
    [HEADER_SIGNATURE]: `v1=${computeSignature(secret, timestamp, deliveryId, body)}`,
  };
}

/** Result of checking a signed request; `reason` is for the log only. */
export type Verification = { ok: true; deliveryId: string } | { ok: false; reason: string };

/**
 * Checks the headers and signature of a raw body. Missing, malformed, wrong-length or stale values
 * fail like a wrong signature; the comparison is constant-time over equal-length digests.
 */
export function verifySignature(
  secret: Uint8Array,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array,
  nowSeconds = Math.floor(Date.now() / 1000),
): Verification {
  const timestamp = headers[HEADER_TIMESTAMP];
  const deliveryId = headers[HEADER_DELIVERY];
  const signature = headers[HEADER_SIGNATURE];
  if (typeof timestamp !== "string" || !TIMESTAMP.test(timestamp)) return { ok: false, reason: "timestamp missing or malformed" };
  if (typeof deliveryId !== "string" || !DELIVERY.test(deliveryId)) return { ok: false, reason: "delivery id missing or malformed" };
  const match = typeof signature === "string" ? SIGNATURE.exec(signature) : null;
  if (!match?.[1]) return { ok: false, reason: "signature missing or malformed" };
  const expected = Buffer.from(computeSignature(secret, timestamp, deliveryId, body), "hex");
  const given = Buffer.from(match[1], "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "signature mismatch" };
  // Checked after the signature so an attacker learns nothing about the clock from unsigned probes.
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_SKEW_SECONDS) return { ok: false, reason: "timestamp outside the allowed window" };
  return { ok: true, deliveryId };
}
