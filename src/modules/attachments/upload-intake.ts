import { Transform, type TransformCallback } from 'node:stream';

/** Why an upload's bytes were refused as they arrived. */
export class UploadRefusal extends Error {
  override name = 'UploadRefusal';
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export interface IntakeOptions {
  /** The most bytes it lets through (the declared size); one more is a 413. */
  limit: number;
  /** How many first bytes `check` needs to see. */
  headBytes: number;
  /** Judges the first bytes: a message refuses the upload (415). */
  check(head: Buffer): Promise<string | null>;
  /** How many bytes to keep for the caller (a document's text is read from them); 0: none. */
  keepBytes: number;
}

/**
 * What an upload's bytes pass through on their way to storage: counted as they arrive (past the
 * limit the upload fails at once, 413), held back until the first `headBytes` can be checked
 * (a type the bytes contradict fails, 415, before anything is stored), and the first
 * `keepBytes` kept. Nothing else is held: the rest streams on.
 */
export class UploadIntake extends Transform {
  /** Bytes seen so far. */
  received = 0;
  private head: Buffer[] | null = [];
  private headLength = 0;
  private readonly kept: Buffer[] = [];
  private keptLength = 0;

  constructor(private readonly options: IntakeOptions) {
    super();
  }

  /** The first `keepBytes` bytes of the upload. */
  get keptBytes(): Buffer {
    return Buffer.concat(this.kept, this.keptLength);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.options.limit) {
      done(
        new UploadRefusal(
          413,
          `The upload is larger than the ${this.options.limit} bytes declared for it.`,
        ),
      );
      return;
    }
    this.keep(chunk);
    if (!this.head) {
      done(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < this.options.headBytes) {
      done();
      return;
    }
    this.release(done);
  }

  override _flush(done: TransformCallback): void {
    if (this.head) this.release(done);
    else done();
  }

  /** Checks the held head and lets it through, or refuses the upload. */
  private release(done: TransformCallback): void {
    const head = Buffer.concat(this.head!, this.headLength);
    this.head = null;
    this.options.check(head).then(
      (refusal) => {
        if (refusal) done(new UploadRefusal(415, refusal));
        else done(null, head);
      },
      (error: unknown) => done(error as Error),
    );
  }

  private keep(chunk: Buffer): void {
    const room = this.options.keepBytes - this.keptLength;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.kept.push(Buffer.from(part));
    this.keptLength += part.length;
  }
}
