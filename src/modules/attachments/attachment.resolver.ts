import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { costPerItem } from '../../graphql/field-annotations';
import { viewerOf } from '../../graphql/viewer';
import { ATTACHMENT_LIST_LIMITS, type AttachmentService } from './attachment.service';
import {
  Attachment,
  AttachmentConnection,
  CreateUploadInput,
  UploadTicket,
} from './attachment.types';
import type { UploadService } from './upload.service';

@Resolver(() => Attachment)
export class AttachmentResolver {
  constructor(
    private readonly library: AttachmentService,
    private readonly uploads: UploadService,
  ) {}

  @Authorized()
  @Query(() => AttachmentConnection, {
    description: 'Your uploaded attachments, newest first.',
    complexity: costPerItem('limit', 20, ATTACHMENT_LIST_LIMITS.max),
  })
  attachments(
    @Ctx() context: GraphQLContext,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 20, description: '1 to 100.' })
    limit: number | null,
    @Arg('after', () => String, { nullable: true, description: "The previous page's endCursor." })
    after?: string | null,
  ): Promise<AttachmentConnection> {
    return this.library.list(viewerOf(context), limit ?? 20, after);
  }

  @Authorized()
  @Query(() => Int, {
    description: 'Bytes your attachments hold (uploads under way count), of STORAGE_QUOTA_BYTES.',
  })
  storageUsed(@Ctx() context: GraphQLContext): Promise<number> {
    return this.library.storageUsed(viewerOf(context));
  }

  @Authorized()
  @Mutation(() => UploadTicket, {
    description:
      'Reserves room for a file and gives a single-use URL to PUT its bytes to (with your Authorization header), valid 10 minutes.',
  })
  createUpload(
    @Arg('input', () => CreateUploadInput) input: CreateUploadInput,
    @Ctx() context: GraphQLContext,
  ): Promise<UploadTicket> {
    return this.uploads.createUpload(viewerOf(context), input);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Deletes an attachment no message carries (CONFLICT otherwise: it goes with its chat).',
  })
  deleteAttachment(
    @Arg('id', () => ID) id: string,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    return this.library.delete(viewerOf(context), id);
  }
}
