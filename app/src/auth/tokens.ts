import { createHash, webcrypto } from "node:crypto";
import { SignJWT, jwtVerify, errors, type JWTHeaderParameters, type FlattenedJWSInput } from "jose";

type CryptoKey = webcrypto.CryptoKey;

/** The only algorithm the API signs with or accepts. */
export const JWT_ALGORITHM = "HS256";

/** Settings for issuing and checking access tokens. */
export interface TokenSettings {
  readonly signingKey: Uint8Array;
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
}

/** What a verified token says: the user and the server-side session it belongs to. */
export interface TokenClaims {
  readonly userId: string;
  readonly sessionId: string;
}

/** A key id derived from the key itself, so rotating the key changes the id and old tokens fail cleanly. */
export function keyIdOf(key: Uint8Array): string {
  return `hs256-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`;
}

/** Issues a signed access token for a session. */
export async function signAccessToken(settings: TokenSettings, claims: TokenClaims, expiresAt: Date): Promise<string> {
  return new SignJWT({ sid: claims.sessionId })
    .setProtectedHeader({ alg: JWT_ALGORITHM, typ: "JWT", kid: keyIdOf(settings.signingKey) })
    .setSubject(claims.userId)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(settings.signingKey);
}

/** Why a token was refused; never shown in detail to the client. */
export class TokenRejected extends Error {}

/**
 * Per signing key, its id and a non-extractable HMAC verification key. Given the raw bytes, jose
 * imports a key and hashes nothing else on every call; importing once saves a third of a verify.
 * Keyed by the key's bytes object, so a rotated key (a new config) gets its own entry.
 */
const verificationKeys = new WeakMap<Uint8Array, Promise<{ kid: string; key: CryptoKey }>>();

function verificationKeyOf(signingKey: Uint8Array): Promise<{ kid: string; key: CryptoKey }> {
  let entry = verificationKeys.get(signingKey);
  if (!entry) {
    entry = webcrypto.subtle
      .importKey("raw", signingKey, { name: "HMAC", hash: "SHA-256" }, false, ["verify"])
      .then((key) => ({ kid: keyIdOf(signingKey), key }));
    verificationKeys.set(signingKey, entry);
  }
  return entry;
}

/**
 * Verifies signature (HS256 only, key chosen by kid), exp/iat present and not too old, issuer and
 * audience. Throws TokenRejected with the reason for the log.
 */
export async function verifyAccessToken(settings: TokenSettings, token: string): Promise<TokenClaims> {
  const { kid, key } = await verificationKeyOf(settings.signingKey);
  const keyFor = (header: JWTHeaderParameters, _token: FlattenedJWSInput): CryptoKey => {
    if (header.kid !== kid) throw new TokenRejected(`unknown key id`);
    return key;
  };
  try {
    const { payload } = await jwtVerify(token, keyFor, {
      algorithms: [JWT_ALGORITHM],
      issuer: settings.issuer,
      audience: settings.audience,
      requiredClaims: ["exp", "iat", "sub", "sid"],
      // Caps the lifetime even for a token whose exp lies far ahead.
      maxTokenAge: `${settings.ttlSeconds}s`,
      typ: "JWT",
    });
    const exp = payload.exp ?? 0;
    const iat = payload.iat ?? 0;
    if (exp - iat > settings.ttlSeconds) throw new TokenRejected("lifetime longer than allowed");
    if (typeof payload.sub !== "string" || typeof payload.sid !== "string") throw new TokenRejected("malformed claims");
    return { userId: payload.sub, sessionId: payload.sid };
  } catch (error) {
    if (error instanceof TokenRejected) throw error;
    if (error instanceof errors.JOSEError) throw new TokenRejected(error.code);
    throw new TokenRejected("unparseable token");
  }
}
