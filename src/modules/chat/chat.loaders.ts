import DataLoader from 'dataloader';
import type { GraphQLContext } from '../../kernel/context';
import type { MessageRecord } from './message.model';
import type { MessagePageKey, MessageService } from './message.service';

/**
 * Per-operation loaders (made in the context's scope, so they never outlive one operation and
 * never serve one user's data to another). `Chat.messages` of a whole page is one query.
 */
export class ChatLoaders {
  readonly messagePages: DataLoader<MessagePageKey, MessageRecord[], string>;

  constructor(messages: MessageService) {
    this.messagePages = new DataLoader((keys) => messages.pages(keys), {
      cacheKeyFn: (key) => `${key.chatId}|${key.messageCount}|${key.limit}|${key.before ?? ''}`,
      // TypeGraphQL awaits its middleware chain before each field resolver, so the loads of a
      // large page span several microtask turns; DataLoader's default (next tick) would split
      // them into several queries. One macrotask later, the whole page is in one batch.
      batchScheduleFn: (dispatch) => setImmediate(dispatch),
    });
  }

  static of(context: GraphQLContext, messages: MessageService): ChatLoaders {
    let loaders = context.scope.get(ChatLoaders) as ChatLoaders | undefined;
    if (!loaders) {
      loaders = new ChatLoaders(messages);
      context.scope.set(ChatLoaders, loaders);
    }
    return loaders;
  }
}
