import * as fileType from 'file-type';
import { textOf } from '../src/modules/attachments/content/extract-text';
import { isImage } from '../src/modules/attachments/content/media-types';
import { PDF_LIMITS } from '../src/modules/attachments/content/pdf-text';
import { SNIFF_BYTES, sniffMediaType } from '../src/modules/attachments/content/sniff';
import { UnreadableDocumentError } from '../src/modules/attachments/content/unreadable-document';
import { pdfOf, tinyApng, tinyGif, tinyJpeg, tinyPng, tinyWebp } from './helpers/sample-files';

/**
 * What an upload is taken as, from its first bytes and the type its client declared, and
 * the text a model is given of a document: on real files built here from their formats.
 */

/** The first bytes of a file, as the upload route hands them to sniffMediaType. */
const headOf = (bytes: Buffer) => bytes.subarray(0, SNIFF_BYTES);

/** A distinctive string no refusal may quote back. */
const MARKER = 'PALAVER-FILE-CONTENT-7d1f';

const HTML = Buffer.from(
  `<!doctype html><html><head><title>${MARKER}</title></head>` +
    `<body><script>alert(document.cookie)</script></body></html>`,
);

async function refusalOf(head: Uint8Array, declared: string): Promise<string> {
  const result = await sniffMediaType(head, declared);
  if (!('refused' in result)) throw new Error(`expected a refusal, got ${result.mediaType}`);
  return result.refused;
}

async function readError(promise: Promise<unknown>): Promise<UnreadableDocumentError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UnreadableDocumentError) return error;
    throw error;
  }
  throw new Error('expected an UnreadableDocumentError');
}

describe('sniffMediaType: what an upload is', () => {
  it('should read as many bytes as file-type needs to tell every type it knows', () => {
    // Exported by file-type but missing from its typings.
    const reasonable = (fileType as unknown as { reasonableDetectionSizeInBytes: number })
      .reasonableDetectionSizeInBytes;
    expect(SNIFF_BYTES).toBe(reasonable);
  });

  it.each([
    ['image/png', tinyPng()],
    ['image/jpeg', tinyJpeg()],
    ['image/gif', tinyGif()],
    ['image/webp', tinyWebp()],
    ['application/pdf', pdfOf([{ lines: ['Hello'] }])],
  ])('should accept a %s declared as what it is', async (type, bytes) => {
    await expect(sniffMediaType(headOf(bytes), type)).resolves.toEqual({ mediaType: type });
  });

  it('should take an animated PNG as a PNG, which every vision API reads', async () => {
    await expect(sniffMediaType(tinyApng(), 'image/png')).resolves.toEqual({
      mediaType: 'image/png',
    });
  });

  it('should accept a declared type in any case and with parameters, normalized', async () => {
    await expect(
      sniffMediaType(Buffer.from('a,b\n1,2\n'), 'Text/CSV; charset=UTF-8'),
    ).resolves.toEqual({ mediaType: 'text/csv' });
  });

  it('should refuse a PNG declared as a PDF, naming both types', async () => {
    const refused = await refusalOf(tinyPng(), 'application/pdf');
    expect(refused).toContain('application/pdf');
    expect(refused).toContain('image/png');
  });

  it('should refuse a JPEG declared as a PNG, naming both types', async () => {
    const refused = await refusalOf(tinyJpeg(), 'image/png');
    expect(refused).toContain('image/png');
    expect(refused).toContain('image/jpeg');
  });

  it('should refuse an HTML page declared as a PNG, without quoting it', async () => {
    const refused = await refusalOf(HTML, 'image/png');
    expect(refused).toBe(
      'The file is declared as image/png, but its content is text, not an image.',
    );
    expect(refused).not.toContain(MARKER);
  });

  it('should refuse a PDF declared as plain text (a signature beats a text type)', async () => {
    const refused = await refusalOf(pdfOf([{ lines: ['Hello'] }]), 'text/plain');
    expect(refused).toContain('application/pdf');
  });

  it.each([
    ['a CSV', 'text/csv', 'BMW sales,2024\nQ1,410\n'], // `BM`: a BMP's signature
    ['a note', 'text/plain', 'ID3 tags hold an MP3 file\u2019s title.\n'], // an MP3's
    ['a note', 'text/markdown', 'MZ is where a DOS program starts.\n'], // a Windows program's
  ])(
    'should accept %s whose first letters happen to be a binary signature (%s)',
    async (_what, type, text) => {
      await expect(sniffMediaType(Buffer.from(text), type)).resolves.toEqual({ mediaType: type });
    },
  );

  it('should refuse a real BMP declared as CSV, naming what it is', async () => {
    // A 1×1 24-bit BMP: its header's sizes and offsets hold NUL bytes, as every BMP's do.
    const bmp = Buffer.alloc(58);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(58, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(1, 18);
    bmp.writeInt32LE(1, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    await expect(refusalOf(bmp, 'text/csv')).resolves.toBe(
      'The file is declared as text/csv, but its content is image/bmp.',
    );
  });

  it('should refuse a PNG declared as plain text, naming what it is', async () => {
    await expect(refusalOf(tinyPng(), 'text/plain')).resolves.toBe(
      'The file is declared as text/plain, but its content is image/png.',
    );
  });

  it.each(['text/html', 'image/svg+xml', 'application/zip', 'application/octet-stream'])(
    'should refuse a file declared as %s, a type not accepted',
    async (type) => {
      const refused = await refusalOf(HTML, type);
      expect(refused).toBe(`Files of type ${type} are not accepted.`);
    },
  );

  it('should accept an HTML page declared as plain text: it goes to the model as text', async () => {
    await expect(sniffMediaType(HTML, 'text/plain')).resolves.toEqual({ mediaType: 'text/plain' });
  });

  it('should accept UTF-8 text whose head ends in the middle of a character', async () => {
    // 'é' is two bytes: one ASCII byte first puts every character across an odd boundary.
    const text = Buffer.from(`x${'é'.repeat(SNIFF_BYTES)}`);
    const head = headOf(text);
    expect(head.length).toBe(SNIFF_BYTES);
    expect(head[head.length - 1]).toBe(0xc3); // the first byte of a cut 'é'
    await expect(sniffMediaType(head, 'text/markdown')).resolves.toEqual({
      mediaType: 'text/markdown',
    });
  });

  it('should refuse text that is not UTF-8 (Latin-1), naming the declared type', async () => {
    const latin1 = Buffer.from('prénom,ville\nJosé,Orléans\n', 'latin1');
    await expect(refusalOf(latin1, 'text/csv')).resolves.toBe(
      'The file is declared as text/csv, but its content is not UTF-8 text.',
    );
  });

  it('should refuse text holding a NUL byte as binary', async () => {
    const refused = await refusalOf(Buffer.from('name\0value\n'), 'text/plain');
    expect(refused).toContain('NUL');
  });

  it('should refuse bytes of no known type declared as an image', async () => {
    const noise = Buffer.from([0x00, 0x9f, 0x92, 0x96, 0xff, 0xfe, 0x01, 0x02]);
    await expect(refusalOf(noise, 'image/webp')).resolves.toBe(
      'The file is declared as image/webp, but its content is of no known type, not an image.',
    );
  });

  it('should never echo a declared type longer than a name, nor its control characters', async () => {
    const refused = await refusalOf(HTML, `application/${'x'.repeat(500)}\r\nSet-Cookie: a=b`);
    expect(refused.length).toBeLessThan(160);
    expect(refused).not.toMatch(/[\r\n]/);
  });

  it('should tell images from documents', () => {
    expect(['image/png', 'image/jpeg', 'image/webp', 'image/gif'].every(isImage)).toBe(true);
    expect(['application/pdf', 'text/plain', 'image/svg+xml'].some(isImage)).toBe(false);
  });
});

describe('textOf: the text a model is given', () => {
  it('should give UTF-8 text as it is, without its byte-order mark', async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('# Título\n\n* ✓\n'),
    ]);
    await expect(textOf('text/markdown', bytes)).resolves.toBe('# Título\n\n* ✓\n');
  });

  it('should give CSV as it is', async () => {
    await expect(textOf('text/csv', Buffer.from('a,b\r\n1,"x, y"\r\n'))).resolves.toBe(
      'a,b\r\n1,"x, y"\r\n',
    );
  });

  it('should give valid JSON as written, its spacing kept', async () => {
    const json = '{\n  "name": "Ada",\n  "tags": ["x", 1]\n}\n';
    await expect(textOf('application/json', Buffer.from(json))).resolves.toBe(json);
  });

  it('should refuse invalid JSON without quoting it', async () => {
    const error = await readError(
      textOf('application/json', Buffer.from(`{"secret": "${MARKER}",}`)),
    );
    expect(error.message).toBe('The file is declared as JSON but is not valid JSON.');
  });

  it('should refuse text that stops being UTF-8 after the head the sniffer saw', async () => {
    const bytes = Buffer.concat([
      Buffer.from('a'.repeat(SNIFF_BYTES * 2)),
      Buffer.from('café', 'latin1'),
    ]);
    const error = await readError(textOf('text/plain', bytes));
    expect(error.message).toBe('The file is not valid UTF-8 text.');
  });

  it('should refuse text holding a NUL byte after the head', async () => {
    const bytes = Buffer.from(`${'a'.repeat(SNIFF_BYTES * 2)}\0`);
    await expect(readError(textOf('text/plain', bytes))).resolves.toHaveProperty(
      'message',
      'The file holds NUL bytes: it is binary, not text.',
    );
  });

  it('should extract a PDF\u2019s text, page by page in order', async () => {
    const pdf = pdfOf([
      { lines: ['Quarterly report (draft)', 'Revenue grew by 12%.'] },
      { lines: ['Second page: outlook'] },
    ]);
    const text = await textOf('application/pdf', pdf);
    expect(text).toBe('Quarterly report (draft)\nRevenue grew by 12%.\n\nSecond page: outlook');
  });

  it('should extract the text of compressed content streams', async () => {
    const pdf = pdfOf([{ lines: ['Compressed words'] }], { deflate: true });
    await expect(textOf('application/pdf', pdf)).resolves.toBe('Compressed words');
  });

  it('should refuse a PDF with no text (a scan) saying so', async () => {
    const scan = pdfOf([{ content: '0.5 g 72 72 468 648 re f' }]);
    const error = await readError(textOf('application/pdf', scan));
    expect(error.message).toBe('The PDF has no text that can be extracted (a scanned document?).');
  });

  it('should refuse a PDF that asks for a password, saying so', async () => {
    const locked = pdfOf([{ lines: ['Confidential'] }], { locked: true });
    const error = await readError(textOf('application/pdf', locked));
    expect(error.message).toBe('The PDF is protected by a password.');
  });

  it('should refuse a broken PDF as damaged', async () => {
    const pdf = pdfOf([{ lines: ['Hello'] }]);
    const broken = Buffer.concat([pdf.subarray(0, 40), Buffer.from('\x00garbage\xff'.repeat(50))]);
    const error = await readError(textOf('application/pdf', broken));
    expect(error.message).toBe('The PDF is damaged or not a PDF; it cannot be read.');
  });

  it('should refuse a PNG handed over as a PDF as damaged', async () => {
    const error = await readError(textOf('application/pdf', tinyPng()));
    expect(error.message).toBe('The PDF is damaged or not a PDF; it cannot be read.');
  });

  it('should refuse a PDF of more pages than it reads at once, saying how many', async () => {
    const pages = PDF_LIMITS.maxPages + 100;
    const pdf = pdfOf(Array.from({ length: pages }, (_, i) => ({ lines: [`Page ${i + 1}`] })));
    const started = Date.now();
    const error = await readError(textOf('application/pdf', pdf));
    expect(error.message).toBe(
      `The PDF has ${pages} pages; at most ${PDF_LIMITS.maxPages} can be read.`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('should read hundreds of pages within the limits, the last one included', async () => {
    const pdf = pdfOf(Array.from({ length: 300 }, (_, i) => ({ lines: [`Page ${i + 1} text`] })));
    const text = await textOf('application/pdf', pdf);
    expect(text.startsWith('Page 1 text\n\nPage 2 text')).toBe(true);
    expect(text.endsWith('Page 300 text')).toBe(true);
  });

  it('should refuse a PDF whose text passes the character limit', async () => {
    const pdf = pdfOf([{ lines: ['x'.repeat(40)] }, { lines: ['y'.repeat(40)] }]);
    const error = await readError(
      textOf('application/pdf', pdf, { ...PDF_LIMITS, maxTextChars: 60 }),
    );
    expect(error.message).toBe('The PDF holds more than 60 characters of text.');
  });

  it('should give up on a PDF that takes past its deadline, the server answering meanwhile', async () => {
    // A million text operators on one page: longer than the deadline (bench/FINDINGS.md).
    const heavy = pdfOf([{ content: `BT /F1 12 Tf ${'(A) Tj '.repeat(1_000_000)}ET` }], {
      deflate: true,
    });
    let worstLagMs = 0;
    let last = Date.now();
    const ticks = setInterval(() => {
      const now = Date.now();
      worstLagMs = Math.max(worstLagMs, now - last - 5);
      last = now;
    }, 5);
    try {
      const started = Date.now();
      const error = await readError(
        textOf('application/pdf', heavy, { ...PDF_LIMITS, deadlineMs: 150 }),
      );
      expect(error.message).toBe('The PDF took too long to read.');
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      clearInterval(ticks);
    }
    // The parse ran in its worker: this thread's timers kept firing.
    expect(worstLagMs).toBeLessThan(250);
  });

  it('should refuse a small PDF that inflates past its memory, the server unharmed', async () => {
    // 160 MB of spaces after the text compress to about 160 kB: a decompression bomb.
    const bomb = pdfOf([{ content: `BT /F1 12 Tf (A) Tj ET${' '.repeat(160 * 1024 * 1024)}` }], {
      deflate: true,
    });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const error = await readError(textOf('application/pdf', bomb, { ...PDF_LIMITS, memoryMb: 64 }));
    expect(error.message).toBe('The PDF is too large or too complex to read.');
    // And the next document reads as ever.
    await expect(textOf('application/pdf', pdfOf([{ lines: ['After'] }]))).resolves.toBe('After');
  });
});
