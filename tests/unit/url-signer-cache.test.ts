import { describe, expect, it } from 'vitest';
import { createUrlSigner, SIGNATURES_KEPT } from '../../src/images/url-signer.ts';

const secret = new TextEncoder().encode('unit-secret-unit-secret-unit-secret-0123');

describe('URL signer memory', () => {
  it('gives a remembered signature equal to a fresh computation, for each image, variant and expiry', async () => {
    const signer = createUrlSigner(secret);
    const fresh = () => createUrlSigner(secret);
    const a = await signer.sign('a.png', 'full', 1200);
    expect(await signer.sign('a.png', 'full', 1200)).toBe(a);
    expect(a).toBe(await fresh().sign('a.png', 'full', 1200));
    expect(await signer.sign('a.png', 'thumbnail', 1200)).toBe(
      await fresh().sign('a.png', 'thumbnail', 1200),
    );
    expect(await signer.sign('a.png', 'full', 1800)).toBe(await fresh().sign('a.png', 'full', 1800));
    expect(await signer.sign('a.png', 'full', 1800)).not.toBe(a);
    expect(await signer.verify('a.png', 'full', 1200, a)).toBe(true);
  });

  it('stays right past its bound', async () => {
    const signer = createUrlSigner(secret);
    const first = await signer.sign('0.png', 'full', 600);
    for (let i = 1; i <= SIGNATURES_KEPT; i++) {
      await signer.sign(`${i}.png`, 'full', 600);
    }
    expect(await signer.sign('0.png', 'full', 600)).toBe(first);
  });
});
