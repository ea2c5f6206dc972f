import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { ImageVariant } from '../core/images.ts';
import { ApiError } from '../http/errors.ts';
import { bearer, createRouter, jsonBody, jsonResponse, problems } from '../http/openapi.ts';
import { serviceContext } from '../http/service-context.ts';
import {
  ImageDTO,
  ImagesPage,
  ListImagesQuery,
  MAX_UPLOAD_BYTES,
  UpdateImageInput,
} from '../images/schemas.ts';
import {
  deleteImage,
  getImage,
  getImageFile,
  listImages,
  updateImage,
  uploadImage,
} from '../services/images/index.ts';

/** Room for the multipart framing and the other fields around a file of the largest size. */
const UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024;

/** The paths of image files, which a valid signature opens without a token (auth treats them as optional). */
export const IMAGE_FILE_PATH = /^\/api\/v1\/images\/i\/[^/]+\/(full|thumbnail)$/;
/** The upload path, which has its own body limit instead of the API's 1 MiB. */
export const IMAGE_UPLOAD_PATH = '/api/v1/images/upload';

const tags = ['images'];
const base = { tags, security: bearer };
const NameParam = z.object({ image_name: z.string().min(1).max(200) });
const SignedQuery = z.object({ exp: z.string().max(20).optional(), sig: z.string().max(100).optional() });
const UploadForm = z.object({
  file: z
    .custom<File>((v) => v instanceof Blob, 'a file is required')
    .openapi({ type: 'string', format: 'binary' }),
  board_id: z.string().min(1).max(200).optional(),
});
const readProblems = problems('validation_failed', 'unauthorized', 'not_found');

const listRoute = createRoute({
  ...base,
  method: 'get',
  path: '/',
  operationId: 'list_image_dtos',
  summary: 'Your images, newest first (admins: `user_id=<id>|all`); `board_id=none` is uncategorized',
  request: { query: ListImagesQuery },
  responses: {
    200: jsonResponse(ImagesPage, 'A page'),
    ...problems('validation_failed', 'unauthorized', 'forbidden'),
  },
});
const getRoute = createRoute({
  ...base,
  method: 'get',
  path: '/i/{image_name}',
  operationId: 'get_image_dto',
  summary: 'One image (owner or admin)',
  request: { params: NameParam },
  responses: { 200: jsonResponse(ImageDTO, 'The image'), ...readProblems },
});
const fileRoute = (variant: ImageVariant) =>
  createRoute({
    ...base,
    method: 'get',
    path: `/i/{image_name}/${variant}`,
    operationId: `get_image_${variant}`,
    summary:
      variant === 'full'
        ? 'The PNG, by signed URL or with a token (owner or admin)'
        : 'The WebP thumbnail (≤ 256 px), by signed URL or with a token (owner or admin)',
    request: { params: NameParam, query: SignedQuery },
    responses: {
      200: {
        description: 'The file',
        content: {
          [variant === 'full' ? 'image/png' : 'image/webp']: {
            schema: z.string().openapi({ format: 'binary' }),
          },
        },
      },
      ...readProblems,
    },
  });
const updateRoute = createRoute({
  ...base,
  method: 'patch',
  path: '/i/{image_name}',
  operationId: 'update_image',
  summary: 'Move an image to a board of its owner (or `null`), or star it',
  request: { params: NameParam, body: jsonBody(UpdateImageInput) },
  responses: {
    200: jsonResponse(ImageDTO, 'The image'),
    ...problems('bad_request', 'validation_failed', 'unauthorized', 'not_found', 'unsupported_media_type'),
  },
});
const deleteRoute = createRoute({
  ...base,
  method: 'delete',
  path: '/i/{image_name}',
  operationId: 'delete_image',
  summary: 'Delete an image and its files (owner or admin)',
  request: { params: NameParam },
  responses: { 204: { description: 'Deleted' }, ...readProblems },
});
const uploadRoute = createRoute({
  ...base,
  method: 'post',
  path: '/upload',
  operationId: 'upload_image',
  summary: 'Upload a PNG, JPEG or WebP (≤ 20 MiB); stored as PNG without its metadata',
  middleware: [
    bodyLimit({
      maxSize: UPLOAD_BODY_LIMIT,
      onError: () => {
        throw new ApiError('payload_too_large', `The file is larger than ${MAX_UPLOAD_BYTES} bytes.`);
      },
    }),
  ] as const,
  request: { body: { required: true, content: { 'multipart/form-data': { schema: UploadForm } } } },
  responses: {
    201: jsonResponse(ImageDTO, 'The stored image'),
    ...problems(
      'bad_request',
      'validation_failed',
      'unauthorized',
      'payload_too_large',
      'unsupported_media_type',
      'unavailable',
    ),
  },
});

export const imagesRouter = createRouter()
  .openapi(listRoute, async (c) =>
    c.json(await listImages({ ctx: serviceContext(c), input: c.req.valid('query') }), 200),
  )
  .openapi(getRoute, async (c) =>
    c.json(
      await getImage({ ctx: serviceContext(c), input: { imageName: c.req.valid('param').image_name } }),
      200,
    ),
  )
  .openapi(updateRoute, async (c) => {
    const input = { imageName: c.req.valid('param').image_name, patch: c.req.valid('json') };
    return c.json(await updateImage({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(deleteRoute, async (c) => {
    await deleteImage({ ctx: serviceContext(c), input: { imageName: c.req.valid('param').image_name } });
    return c.body(null, 204);
  })
  .openapi(uploadRoute, async (c) => {
    const form = c.req.valid('form');
    const input = { file: form.file, boardId: form.board_id ?? null };
    return c.json(await uploadImage({ ctx: serviceContext(c), input }), 201);
  });

for (const variant of ['full', 'thumbnail'] as const) {
  imagesRouter.openapi(fileRoute(variant), async (c) => {
    const input = { imageName: c.req.valid('param').image_name, variant, ...c.req.valid('query') };
    const file = await getImageFile({ ctx: serviceContext(c), input });
    return c.body(file.bytes as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': file.contentType,
      'Cache-Control': `private, max-age=${file.maxAge}, immutable`,
      'X-Content-Type-Options': 'nosniff',
    });
  });
}
