export * from './delete-image.ts';
export * from './get-image.ts';
export * from './get-image-file.ts';
export * from './list-images.ts';
export * from './update-image.ts';
export * from './upload-image.ts';
