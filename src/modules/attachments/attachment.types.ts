import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Length, Max, Min } from 'class-validator';
import { PageInfo } from '../../graphql/page-info.type';

/** Filenames longer than this are refused (most file systems stop at 255). */
export const MAX_FILENAME_LENGTH = 255;

@ObjectType({ simpleResolvers: true, description: 'A file you uploaded.' })
export class Attachment {
  @Field(() => ID, { description: 'Identifier (for sendMessage attachmentIds).' })
  id!: string;

  @Field(() => String, { description: 'Its name, as uploaded.' })
  filename!: string;

  @Field(() => String, { description: 'Its media type, checked against its bytes.' })
  mediaType!: string;

  @Field(() => Int, { description: 'Its size in bytes.' })
  size!: number;

  @Field(() => Date, { description: 'When it was uploaded.' })
  createdAt!: Date;

  @Field(() => String, {
    description: 'A signed download link, valid for a short time (15 minutes); needs no token.',
  })
  url!: string;
}

@InputType({ description: 'A file about to be uploaded.' })
export class CreateUploadInput {
  @Field(() => String, { description: 'Its name (1 to 255 characters).' })
  @Length(1, MAX_FILENAME_LENGTH)
  filename!: string;

  @Field(() => String, {
    description:
      'Its media type: image/png, image/jpeg, image/webp, image/gif, text/plain, text/markdown, text/csv, application/json or application/pdf.',
  })
  @Length(1, 100)
  mediaType!: string;

  @Field(() => Int, { description: 'Its exact size in bytes (1 to ATTACHMENT_MAX_BYTES).' })
  @Min(1)
  @Max(2 ** 31 - 1)
  size!: number;
}

@ObjectType({
  simpleResolvers: true,
  description:
    'Where to PUT the bytes: once, with your Authorization header, before expiresAt (10 minutes).',
})
export class UploadTicket {
  @Field(() => ID, { description: 'The attachment the bytes become.' })
  attachmentId!: string;

  @Field(() => String, { description: 'The single-use upload URL.' })
  uploadUrl!: string;

  @Field(() => Date, { description: 'When the URL stops working.' })
  expiresAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A page of your attachments, newest first.' })
export class AttachmentConnection {
  @Field(() => [Attachment], { description: 'The attachments of this page.' })
  nodes!: Attachment[];

  @Field(() => Int, { description: 'How many attachments you have, on all pages.' })
  totalCount!: number;

  @Field(() => PageInfo, { description: 'Where this page ends.' })
  pageInfo!: PageInfo;
}
