import type { ImageVariant, UrlSigner } from '../core/images.ts';
/** Where the image routes live; signed URLs are built on it. */
export const IMAGE_URL_PREFIX = '/api/v1/images/i';

/** How long a signed URL lives at least, and the step its expiry is rounded up to (so URLs repeat). */
export const SIGNED_URL_TTL_S = 3600;
export const SIGNED_URL_STEP_S = 600;

const DOMAIN = 'easel image url v1';
const encoder = new TextEncoder();

const base64url = (bytes: Uint8Array) => {
  let s = '';
  for (const b of bytes) {
    s += String.fromCharCode(b);
  }
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
};

function fromBase64url(s: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]{43}$/.test(s)) {
    return null;
  }
  const bytes = Uint8Array.from(atob(s.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0));
  // The last character carries 2 unused bits: accept only the canonical spelling, so a signature has one form.
  return base64url(bytes) === s ? bytes : null;
}

const message = (imageName: string, variant: ImageVariant, exp: number) =>
  encoder.encode(`${variant}\n${imageName}\n${exp}`);

async function deriveKey(secret: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const master = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const derived = new Uint8Array(await crypto.subtle.sign('HMAC', master, encoder.encode(DOMAIN)));
  return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

/** How many signatures a signer remembers (the oldest is dropped first). */
export const SIGNATURES_KEPT = 20_000;

/**
 * A URL signer over a key derived from the JWT secret: HMAC-SHA256(secret, "easel image url v1"), so a URL
 * signature can never pass for a token signature or the other way round. The key is derived on first use.
 * Signatures are remembered (`SIGNATURES_KEPT`): expiries are rounded to `SIGNED_URL_STEP_S`, so a page of
 * images asks for the same (image, variant, expiry) signatures for ten minutes, and each was an HMAC on the
 * crypto thread pool (two per image, most of the CPU of `GET /images?limit=50`; issue 15). An HMAC of the
 * same message under the same key is the same, so a remembered signature is the one it would compute.
 * @example const signer = createUrlSigner(new TextEncoder().encode(secret));
 */
export function createUrlSigner(secret: Uint8Array<ArrayBuffer>): UrlSigner {
  let key: Promise<CryptoKey> | undefined;
  const keyOf = () => {
    key ??= deriveKey(secret);
    return key;
  };
  const signatures = new Map<string, string>();
  return {
    async sign(imageName, variant, exp) {
      const id = `${variant}\n${exp}\n${imageName}`;
      const known = signatures.get(id);
      if (known !== undefined) {
        return known;
      }
      const mac = await crypto.subtle.sign('HMAC', await keyOf(), message(imageName, variant, exp));
      const sig = base64url(new Uint8Array(mac));
      if (signatures.size >= SIGNATURES_KEPT) {
        const oldest = signatures.keys().next();
        if (!oldest.done) {
          signatures.delete(oldest.value);
        }
      }
      signatures.set(id, sig);
      return sig;
    },
    async verify(imageName, variant, exp, sig) {
      const bytes = fromBase64url(sig);
      return (
        bytes !== null && crypto.subtle.verify('HMAC', await keyOf(), bytes, message(imageName, variant, exp))
      );
    },
  };
}

/**
 * The expiry of URLs signed now: at least `SIGNED_URL_TTL_S` ahead, rounded up to `SIGNED_URL_STEP_S`, so
 * the same image gets the same URL for a while and browsers can cache it.
 * @example const exp = signedUrlExpiry(clock.now());
 */
export function signedUrlExpiry(now: Date): number {
  const earliest = Math.floor(now.getTime() / 1000) + SIGNED_URL_TTL_S;
  return Math.ceil(earliest / SIGNED_URL_STEP_S) * SIGNED_URL_STEP_S;
}

/**
 * The signed path of one variant of an image.
 * @example await signedImageUrl(signer, 'a.png', 'full', exp); // '/api/v1/images/i/a.png/full?exp=…&sig=…'
 */
export async function signedImageUrl(
  signer: UrlSigner,
  imageName: string,
  variant: ImageVariant,
  exp: number,
): Promise<string> {
  const sig = await signer.sign(imageName, variant, exp);
  return `${IMAGE_URL_PREFIX}/${encodeURIComponent(imageName)}/${variant}?exp=${exp}&sig=${sig}`;
}
