import { expect } from 'vitest';
import type { ImageDTO } from '../../src/images/schemas.ts';
import { harnessTest } from './fixtures.ts';
import { expectProblem, type Harness, type TestUser } from './harness.ts';
import { BOARDS, NAME } from './images.ts';

/** The test API of the images.*.test.ts files (each file its own harness), with Alice and Bob named. */
export const test = harnessTest({}, { alice: { displayName: 'Alice' }, bob: { displayName: 'Bob' } });
export const it = test;

export const VALIDATION = 'The request does not match the schema.';
export const NEED_AUTH = 'A bearer token or a valid signed URL is required.';
export const OWNER_GONE = "The signed URL no longer works: its image's owner is deactivated or deleted.";

export const notFound = (res: Response, name: string) =>
  expectProblem(res, 'not_found', 404, 'Not found', `Image ${name} was not found`);

/** The DTO every new image of Alice's has, but for its name and signed URLs. */
export function expectedDto(h: Harness, alice: TestUser, over: Partial<ImageDTO>) {
  return {
    image_name: expect.stringMatching(NAME),
    image_url: expect.stringMatching(
      /^\/api\/v1\/images\/i\/[0-9a-f-]{36}\.png\/full\?exp=\d+&sig=[\w-]{43}$/,
    ),
    thumbnail_url: expect.stringMatching(
      /^\/api\/v1\/images\/i\/[0-9a-f-]{36}\.png\/thumbnail\?exp=\d+&sig=[\w-]{43}$/,
    ),
    width: 32,
    height: 24,
    board_id: null,
    user_id: alice.user.user_id,
    queue_item_id: null,
    session_id: null,
    node_id: null,
    is_intermediate: false,
    starred: false,
    metadata: null,
    created_at: h.clock.now().toISOString(),
    ...over,
  };
}

export async function createBoard(h: Harness, token: string, name = 'Board') {
  const res = await h.post(BOARDS, { token, json: { board_name: name } });
  expect(res.status).toBe(201);
  return (await res.json()).board_id as string;
}
