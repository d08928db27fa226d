import { crc32, deflateSync } from 'node:zlib';

/**
 * Small real files, built from their specifications, for tests of what an upload is and
 * what a model is sent: every image opens in a viewer, every PDF in a reader.
 */

/** One PNG chunk: length, type, data, CRC-32 of type and data (PNG spec §5.3). */
function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const PNG_SIGNATURE = Buffer.from('89504e470d0a1a0a', 'hex');

/** A 1×1 RGB PNG of the given colour. */
export function tinyPng(rgb: [number, number, number] = [255, 0, 0]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0); // width
  header.writeUInt32BE(1, 4); // height
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  // One scanline: filter byte 0, then the pixel.
  const pixels = deflateSync(Buffer.from([0, ...rgb]));
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', pixels),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The same pixel as an animated PNG (an acTL chunk before the image data: APNG spec). */
export function tinyApng(): Buffer {
  const png = tinyPng();
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(1, 0); // frames
  actl.writeUInt32BE(0, 4); // plays: for ever
  const afterHeader = PNG_SIGNATURE.length + 12 + 13;
  return Buffer.concat([
    png.subarray(0, afterHeader),
    pngChunk('acTL', actl),
    png.subarray(afterHeader),
  ]);
}

/** A 1×1 greyscale baseline JFIF JPEG. */
export function tinyJpeg(): Buffer {
  return Buffer.from(
    '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////' +
      '////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
    'base64',
  );
}

/** A 1×1 transparent GIF89a. */
export function tinyGif(): Buffer {
  return Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
}

/** A 1×1 lossless WebP (RIFF container, VP8L). */
export function tinyWebp(): Buffer {
  return Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
}

export interface PdfPage {
  /** Lines of text drawn top-down in Helvetica (ASCII). */
  lines?: string[];
  /** A content stream written as it is instead of `lines` (drawings, hostile operators). */
  content?: string;
}

/** A string as a PDF literal string: backslash and parentheses escaped (PDF 32000 §7.3.4.2). */
function literal(text: string): string {
  return `(${text.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

function contentOf(page: PdfPage): string {
  if (page.content !== undefined) return page.content;
  const shown = (page.lines ?? []).map((line) => `${literal(line)} Tj 0 -16 Td`).join('\n');
  return `BT /F1 12 Tf 72 720 Td\n${shown}\nET`;
}

/**
 * A PDF 1.4 file with the given pages, its cross-reference table at exact byte offsets.
 * `deflate` compresses the content streams (FlateDecode), as most writers do. `locked` adds a
 * standard security handler (PDF 32000 §7.6.3, revision 2) whose user password is not empty:
 * a reader asks for a password before it decrypts anything (the streams stay plain, never read).
 */
export function pdfOf(
  pages: PdfPage[],
  options: { deflate?: boolean; locked?: boolean } = {},
): Buffer {
  const objects: Buffer[] = [];
  const add = (body: Buffer | string) => {
    objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return objects.length;
  };
  add('<< /Type /Catalog /Pages 2 0 R >>');
  add(''); // the page tree, written once its kids are known
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const kids: number[] = [];
  for (const page of pages) {
    const raw = Buffer.from(contentOf(page), 'latin1');
    const data = options.deflate ? deflateSync(raw) : raw;
    const filter = options.deflate ? ' /Filter /FlateDecode' : '';
    const stream = add(
      Buffer.concat([
        Buffer.from(`<< /Length ${data.length}${filter} >>\nstream\n`, 'latin1'),
        data,
        Buffer.from('\nendstream', 'latin1'),
      ]),
    );
    kids.push(
      add(
        `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] ` +
          `/Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${stream} 0 R >>`,
      ),
    );
  }
  objects[1] = Buffer.from(
    `<< /Type /Pages /Kids [${kids.map((kid) => `${kid} 0 R`).join(' ')}] /Count ${kids.length} >>`,
    'latin1',
  );
  const encrypt = options.locked
    ? add(
        `<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 ` +
          `/O <${'4f'.repeat(32)}> /U <${'55'.repeat(32)}> >>`,
      )
    : 0;
  const id = `<${'0123456789abcdef'.repeat(2)}>`;
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    const object = Buffer.concat([
      Buffer.from(`${index + 1} 0 obj\n`, 'latin1'),
      body,
      Buffer.from('\nendobj\n', 'latin1'),
    ]);
    offsets.push(offset);
    parts.push(object);
    offset += object.length;
  });
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((at) => `${String(at).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R` +
    (encrypt ? ` /Encrypt ${encrypt} 0 R /ID [${id} ${id}]` : '') +
    ` >>\nstartxref\n${offset}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}
