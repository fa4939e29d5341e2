import { errors, jwtVerify, SignJWT } from 'jose';

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

  /** The integration id of a valid token; a reason otherwise (expired, tampered, malformed). */
  async verify(token: string): Promise<{ ok: true; integrationId: string } | { ok: false; reason: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string') return { ok: false, reason: 'the token names no integration' };
      return { ok: true, integrationId: payload.sub };
    } catch (e) {
      if (e instanceof errors.JWTExpired) return { ok: false, reason: 'the token has expired' };
      return { ok: false, reason: 'the token is not valid' };
    }
  }
}
