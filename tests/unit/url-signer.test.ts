import { describe, expect, it } from 'vitest';
import {
  createUrlSigner,
  SIGNED_URL_STEP_S,
  SIGNED_URL_TTL_S,
  signedImageUrl,
  signedUrlExpiry,
} from '../../src/images/url-signer.ts';

const secret = new TextEncoder().encode('unit-secret-unit-secret-unit-secret-0123');

describe('URL signer', () => {
  it('verifies its own signatures and nothing changed', async () => {
    const signer = createUrlSigner(secret);
    const sig = await signer.sign('a.png', 'full', 1000);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await signer.verify('a.png', 'full', 1000, sig)).toBe(true);
    expect(await signer.verify('a.png', 'full', 1001, sig)).toBe(false);
    expect(await signer.verify('b.png', 'full', 1000, sig)).toBe(false);
    expect(await signer.verify('a.png', 'thumbnail', 1000, sig)).toBe(false);
    const flipped = `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    expect(await signer.verify('a.png', 'full', 1000, flipped)).toBe(false);
    expect(await signer.verify('a.png', 'full', 1000, '')).toBe(false);
    expect(await signer.verify('a.png', 'full', 1000, 'not base64!')).toBe(false);
  });

  it('accepts only the canonical spelling of a signature (the last character has 2 unused bits)', async () => {
    const signer = await createUrlSigner(secret);
    const sig = await signer.sign('a.png', 'full', 1000);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1) ?? '');
    const twin = `${sig.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(await signer.verify('a.png', 'full', 1000, twin)).toBe(false);
  });

  it('signs with a key derived from the secret, not the secret itself', async () => {
    const other = createUrlSigner(new TextEncoder().encode('another-secret-another-secret-0123456'));
    const signer = createUrlSigner(secret);
    const sig = await signer.sign('a.png', 'full', 1000);
    expect(await other.verify('a.png', 'full', 1000, sig)).toBe(false);
    const raw = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    const plain = new Uint8Array(
      await crypto.subtle.sign('HMAC', raw, new TextEncoder().encode('full\na.png\n1000')),
    );
    expect(Buffer.from(plain).toString('base64url')).not.toBe(sig);
  });

  it('expires at least an hour ahead, rounded up to ten minutes', () => {
    expect(SIGNED_URL_TTL_S).toBe(3600);
    expect(signedUrlExpiry(new Date(0))).toBe(3600);
    expect(signedUrlExpiry(new Date(1000))).toBe(3600 + SIGNED_URL_STEP_S);
    expect(signedUrlExpiry(new Date(599_000))).toBe(3600 + SIGNED_URL_STEP_S);
  });

  it('builds the signed path of a variant', async () => {
    const signer = createUrlSigner(secret);
    const url = await signedImageUrl(signer, 'a.png', 'thumbnail', 4200);
    expect(url).toBe(
      `/api/v1/images/i/a.png/thumbnail?exp=4200&sig=${await signer.sign('a.png', 'thumbnail', 4200)}`,
    );
  });
});
