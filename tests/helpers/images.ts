import sharp from 'sharp';
import { expect } from 'vitest';
import { contextFromDeps } from '../../src/deps.ts';
import type { ImageDTO } from '../../src/images/schemas.ts';
import { type SaveTimer, saveGeneratedImage } from '../../src/worker/save-image.ts';
import type { Harness } from './harness.ts';

export const IMAGES = '/api/v1/images';
export const BOARDS = '/api/v1/boards';
export const NAME = /^[0-9a-f-]{36}\.png$/;

/** Deterministic RGB pixels (HWC). */
export function pixels(width: number, height: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 31 + seed * 17) % 256);
}

/** An image file made with sharp. */
export async function imageFile(
  format: 'png' | 'jpeg' | 'webp' | 'gif',
  width = 32,
  height = 24,
): Promise<Uint8Array> {
  const img = sharp(pixels(width, height), { raw: { width, height, channels: 3 } });
  return new Uint8Array(await img.toFormat(format).toBuffer());
}

/** POSTs a multipart upload of `bytes` as the field `file`. */
export function upload(
  h: Harness,
  token: string | undefined,
  bytes: Uint8Array,
  o: { filename?: string; type?: string; boardId?: string } = {},
) {
  const form = new FormData();
  form.append(
    'file',
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: o.type ?? 'image/png' }),
    o.filename ?? 'x.png',
  );
  if (o.boardId !== undefined) {
    form.append('board_id', o.boardId);
  }
  return h.post(`${IMAGES}/upload`, { token, body: form });
}

/** Uploads and returns the stored image; fails the test unless it is 201. */
export async function uploaded(h: Harness, token: string, o: { boardId?: string } = {}): Promise<ImageDTO> {
  const res = await upload(h, token, await imageFile('png'), o);
  expect(res.status).toBe(201);
  return res.json();
}

/** Saves a generated image for a user as the scheduler would. */
export function generated(
  h: Harness,
  userId: string,
  o: {
    boardId?: string | null;
    metadata?: Record<string, unknown> | null;
    width?: number;
    height?: number;
    onTimed?: SaveTimer;
    leased?: Promise<void>;
  } = {},
) {
  const width = o.width ?? 16;
  const height = o.height ?? 8;
  return saveGeneratedImage({
    onTimed: o.onTimed,
    leased: o.leased,
    ctx: contextFromDeps(h.deps, 'test-scheduler', null),
    input: {
      rgb: pixels(width, height),
      width,
      height,
      userId,
      queueItemId: 7,
      sessionId: 'session-1',
      nodeId: 'l2i',
      boardId: o.boardId ?? null,
      isIntermediate: false,
      metadata: o.metadata === undefined ? { prompt: 'a cat', seed: 42 } : o.metadata,
    },
  });
}

/** The path and query of a signed URL. */
export function withQuery(url: string, changes: Record<string, string>): string {
  const u = new URL(url, 'http://x');
  for (const [k, v] of Object.entries(changes)) {
    u.searchParams.set(k, v);
  }
  return `${u.pathname}${u.search}`;
}
