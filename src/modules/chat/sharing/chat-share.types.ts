import { Field, ID, Int, ObjectType } from 'type-graphql';
import { MessageRole } from '../chat-enums';

@ObjectType({ simpleResolvers: true, description: 'A read-only link to a snapshot of a chat.' })
export class ChatShare {
  @Field(() => ID, { description: 'Identifier (for unshareChat).' })
  id!: string;

  @Field(() => String, { description: 'The secret of the link; sharedChat(token) reads it.' })
  token!: string;

  @Field(() => String, { description: 'The link: `${APP_URL}/share/<token>`.' })
  url!: string;

  @Field(() => Date, { description: 'When the snapshot was taken.' })
  createdAt!: Date;

  @Field(() => Int, { description: 'Messages in the snapshot.' })
  messageCount!: number;
}

@ObjectType({
  simpleResolvers: true,
  description: 'An attachment as a shared link shows it: its name and type, never its bytes.',
})
export class SharedAttachment {
  @Field(() => String, { description: 'Its name.' })
  filename!: string;

  @Field(() => String, { description: 'Its media type.' })
  mediaType!: string;
}

@ObjectType({ simpleResolvers: true, description: 'A message as a shared link shows it.' })
export class SharedMessage {
  @Field(() => [SharedAttachment], { description: 'The files it carried (names only).' })
  attachments!: SharedAttachment[];

  @Field(() => MessageRole, { description: 'Who wrote it.' })
  role!: MessageRole;

  @Field(() => String, { description: 'Its text when the link was made.' })
  content!: string;

  @Field(() => Date, { description: 'When it was written.' })
  createdAt!: Date;
}

@ObjectType({
  simpleResolvers: true,
  description: 'A shared chat as anyone with the link sees it: nothing about its owner.',
})
export class SharedChat {
  @Field(() => String, { description: 'The title when the link was made.' })
  title!: string;

  @Field(() => Date, { description: 'When the chat was created.' })
  createdAt!: Date;

  @Field(() => [SharedMessage], { description: 'The branch that was shown, root first.' })
  messages!: SharedMessage[];
}
