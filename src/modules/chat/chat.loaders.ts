import DataLoader from 'dataloader';
import type { GraphQLContext } from '../../graphql/context';
import type { MessageTree } from './message-tree';
import type { MessageRecord } from './message.model';
import type { MessagePageKey, MessageService } from './message.service';

/**
 * Per-operation loaders (made in the context's scope, so they never outlive one operation and
 * never serve one user's data to another). `Chat.messages` of a whole page is one query, and
 * so are the sibling lists of every message on it.
 */
export class ChatLoaders {
  readonly messagePages: DataLoader<MessagePageKey, MessageRecord[], string>;
  /** By chat id. Not cached: a subscription's context lives for many events. */
  readonly trees: DataLoader<string, MessageTree>;

  constructor(messages: MessageService) {
    // TypeGraphQL awaits its middleware chain before each field resolver, so the loads of a
    // large page span several microtask turns; DataLoader's default (next tick) would split
    // them into several queries. One macrotask later, the whole page is in one batch.
    const batchScheduleFn = (dispatch: () => void) => setImmediate(dispatch);
    this.messagePages = new DataLoader((keys) => messages.pages(keys), {
      // The path's length and leaf identify the branch (a leaf has one path to the root).
      cacheKeyFn: (key) =>
        `${key.chatId}|${key.path.length}|${key.path[key.path.length - 1] ?? ''}|${key.limit}|${key.before ?? ''}`,
      batchScheduleFn,
    });
    this.trees = new DataLoader(
      async (chatIds) => {
        const trees = await messages.trees(chatIds);
        return chatIds.map((chatId) => trees.get(chatId)!);
      },
      { cache: false, batchScheduleFn },
    );
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
