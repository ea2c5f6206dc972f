import { decodeJwt, SignJWT } from 'jose';
import { TEST_SECRET } from './harness.ts';

const key = new TextEncoder().encode(TEST_SECRET);

export interface ForgeOptions {
  claims?: Record<string, unknown>;
  alg?: string;
  key?: Uint8Array;
  iss?: string;
  aud?: string;
  lifetimeS?: number;
  nowS?: number;
}

/** Signs a token with chosen claims, algorithm, key, issuer and audience, to test the rejection rules. */
export async function forgeToken(sub: string, o: ForgeOptions = {}): Promise<string> {
  const now = o.nowS ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ email: 'x@example.com', is_admin: false, remember_me: false, epoch: 0, ...o.claims })
    .setProtectedHeader({ alg: o.alg ?? 'HS256' })
    .setSubject(sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (o.lifetimeS ?? 3600))
    .setIssuer(o.iss ?? 'easel')
    .setAudience(o.aud ?? 'easel-api')
    .sign(o.key ?? key);
}

const b64url = (s: string) => btoa(s).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** An unsigned `alg: none` token carrying a valid-looking payload. */
export function unsignedToken(payload: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`;
}

/** The token's payload with one claim replaced, keeping the original signature. */
export function tamper(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  const payload = { ...decodeJwt(token), ...changes };
  return `${header}.${b64url(JSON.stringify(payload))}.${signature}`;
}

export { decodeJwt };
