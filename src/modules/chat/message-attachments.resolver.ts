import DataLoader from 'dataloader';
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { Attachment } from '../attachments/attachment.types';
import type { AttachmentService } from '../attachments/attachment.service';
import { Message } from './chat.types';

/**
 * `Message.attachments`: the files a prompt carries. Only the owner reads a message, and a
 * prompt carries only its owner's attachments (checked when it was sent). The attachments of a
 * whole page are one load.
 */
@Resolver(() => Message)
export class MessageAttachmentsResolver {
  constructor(private readonly library: Pick<AttachmentService, 'byIds'>) {}

  @FieldResolver(() => [Attachment], {
    description: 'The files it carries (a prompt), in order; links are signed and short-lived.',
  })
  async attachments(
    @Root() message: Message,
    @Ctx() context: GraphQLContext,
  ): Promise<Attachment[]> {
    if (!message.attachmentIds?.length) return [];
    const loaded = await this.loaderOf(context).loadMany(message.attachmentIds);
    return loaded.filter((item): item is Attachment => item !== null && !(item instanceof Error));
  }

  private loaderOf(context: GraphQLContext): DataLoader<string, Attachment | null> {
    let loader = context.scope.get(MessageAttachmentsResolver) as
      DataLoader<string, Attachment | null> | undefined;
    if (!loader) {
      loader = new DataLoader(
        async (ids) => {
          const found = new Map((await this.library.byIds(ids)).map((a) => [a.id, a]));
          return ids.map((id) => found.get(id) ?? null);
        },
        { batchScheduleFn: (dispatch) => setImmediate(dispatch) },
      );
      context.scope.set(MessageAttachmentsResolver, loader);
    }
    return loader;
  }
}
