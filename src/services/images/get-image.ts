import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { toImageDto } from '../../images/image-dto.ts';
import { imageForActor } from './internal.ts';

/**
 * One image (owner or admin; anyone else gets 404).
 * @example const image = await getImage({ ctx, input: { imageName: 'x.png' } });
 */
export async function getImage({ ctx, input }: { ctx: ServiceContext; input: { imageName: string } }) {
  const actor = requireActor(ctx.actor);
  return toImageDto(ctx, await imageForActor(ctx.db, actor, input.imageName));
}
