import { errors, jwtVerify, SignJWT } from 'jose';
import { isId, toDbId } from '../definitions/ids';

const ISSUER = 'bulksync';

/** HS256 access tokens (jose): the integration's id as subject, a short lifetime, nothing secret inside. */
export class Tokens {
  private readonly key: Uint8Array;
  constructor(secret: string, readonly ttlSeconds: number) {
    this.key = new TextEncoder().encode(secret);
  }

  issue(integrationId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(integrationId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /**
   * The integration id (database spelling) of a valid token; a reason otherwise (expired, tampered, malformed).
   * A correct signature is not enough: the claims this service issues must be there with the right types, because
   * whoever holds the key (or a future issuer) could sign anything, and the subject goes into a database lookup.
   */
  async verify(token: string): Promise<{ ok: true; integrationId: string } | { ok: false; reason: string }> {
    try {
      // jose checks the types of exp/iat/nbf and the issuer; requiredClaims makes a token without expiry invalid.
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'], requiredClaims: ['sub', 'exp', 'iat'] });
      if (!isId(payload.sub)) return { ok: false, reason: 'the token names no integration' };
      return { ok: true, integrationId: toDbId(payload.sub) };
    } catch (e) {
      if (e instanceof errors.JWTExpired) return { ok: false, reason: 'the token has expired' };
      return { ok: false, reason: 'the token is not valid' };
    }
  }
}
