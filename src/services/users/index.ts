export * from './create-user.ts';
export * from './delete-user.ts';
export * from './get-user.ts';
export * from './list-users.ts';
export * from './schemas.ts';
export * from './update-user.ts';
export * from './user-dto.ts';
