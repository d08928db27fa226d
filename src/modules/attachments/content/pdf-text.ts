/**
 * A PDF's text, read in a worker thread: pdf.js parses a file the user wrote, and a hostile
 * one (a page of a million operators, a stream that inflates to gigabytes, an endless
 * object graph) would otherwise hold the event loop or the heap of the whole server. The
 * worker has its own small heap and a deadline; past either it is terminated, and the user
 * is told the document could not be read. Uses unpdf, the serverless build of Mozilla's
 * pdf.js (one dependency-free package, CommonJS and ESM, no native canvas).
 */
import { Worker } from 'node:worker_threads';
import { Semaphore } from '../../../util/semaphore';
import { UnreadableDocumentError } from './unreadable-document';

/** The bounds of reading one PDF; PDF_LIMITS gives each its default. */
export interface PdfLimits {
  /** Pages read at most; a longer document is refused rather than cut without a word. */
  maxPages: number;
  /** Characters of text at most. */
  maxTextChars: number;
  /** How long one document may take, from the worker's start to its text. */
  deadlineMs: number;
  /**
   * The worker's memory, its heap and the buffers pdf.js inflates streams into (a small file
   * can inflate to gigabytes): a document that needs more is refused, the server untouched.
   */
  memoryMb: number;
}

export const PDF_LIMITS: Readonly<PdfLimits> = {
  maxPages: 500,
  // About a million tokens: past any model's context, so nothing a send could use is lost.
  maxTextChars: 4_000_000,
  deadlineMs: 30_000,
  memoryMb: 256,
};

/** Documents read at once: each takes a core and up to its memory. */
export const PDF_CONCURRENT_READS = 2;

const reads = new Semaphore(PDF_CONCURRENT_READS);

/**
 * How often the worker's memory is looked at. A heap limit alone does not bound it: pdf.js
 * inflates streams into ArrayBuffers, outside the heap.
 */
const MEMORY_CHECK_MS = 25;

/** What the worker answers: the text, or which refusal applies. */
type WorkerAnswer =
  | { text: string }
  | { refused: 'broken' | 'locked' | 'long' }
  | { refused: 'pages'; pages: number };

/**
 * The worker's program, as text: a file beside this one would not exist under ts-jest, which
 * runs the TypeScript sources. It asks pdf.js for no fonts, no eval (CVE-2024-4367) and no
 * warnings on the console, reads page by page, and stops at the first limit it passes.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { getDocumentProxy } = require(workerData.unpdf);
const { bytes, maxPages, maxChars } = workerData;
(async () => {
  let pdf;
  try {
    pdf = await getDocumentProxy(bytes, {
      verbosity: 0,
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
    });
  } catch (error) {
    return parentPort.postMessage({
      refused: error && error.name === 'PasswordException' ? 'locked' : 'broken',
    });
  }
  if (pdf.numPages > maxPages) return parentPort.postMessage({ refused: 'pages', pages: pdf.numPages });
  const pages = [];
  let length = 0;
  try {
    for (let number = 1; number <= pdf.numPages; number += 1) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (typeof item.str !== 'string') continue;
        text += item.str;
        if (item.hasEOL) text += '\\n';
      }
      page.cleanup();
      length += text.length;
      if (length > maxChars) return parentPort.postMessage({ refused: 'long' });
      pages.push(text.trim());
    }
  } catch {
    return parentPort.postMessage({ refused: 'broken' });
  }
  parentPort.postMessage({ text: pages.filter((page) => page !== '').join('\\n\\n') });
})();
`;

/** The text of a PDF's pages, a blank line between pages; refusals as UnreadableDocumentError. */
export function pdfText(bytes: Buffer, limits: PdfLimits = PDF_LIMITS): Promise<string> {
  return reads.run(async () => {
    const answer = await readInWorker(bytes, limits);
    if ('text' in answer) {
      if (answer.text.trim() === '') {
        throw new UnreadableDocumentError(
          'The PDF has no text that can be extracted (a scanned document?).',
        );
      }
      return answer.text;
    }
    switch (answer.refused) {
      case 'broken':
        throw new UnreadableDocumentError('The PDF is damaged or not a PDF; it cannot be read.');
      case 'locked':
        throw new UnreadableDocumentError('The PDF is protected by a password.');
      case 'long':
        throw new UnreadableDocumentError(
          `The PDF holds more than ${limits.maxTextChars} characters of text.`,
        );
      case 'pages':
        throw new UnreadableDocumentError(
          `The PDF has ${answer.pages} pages; at most ${limits.maxPages} can be read.`,
        );
    }
  });
}

function readInWorker(bytes: Buffer, limits: PdfLimits): Promise<WorkerAnswer> {
  // The worker gets its own copy, moved rather than cloned.
  const copy = new Uint8Array(bytes);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      unpdf: require.resolve('unpdf'),
      bytes: copy,
      maxPages: limits.maxPages,
      maxChars: limits.maxTextChars,
    },
    transferList: [copy.buffer],
    resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb },
    // What pdf.js prints about a malformed file is noise in the server's log: dropped.
    stdout: true,
    stderr: true,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  return new Promise<WorkerAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: WorkerAnswer | UnreadableDocumentError) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(watch);
      void worker.terminate();
      if (outcome instanceof UnreadableDocumentError) reject(outcome);
      else resolve(outcome);
    };
    const tooBig = () =>
      finish(new UnreadableDocumentError('The PDF is too large or too complex to read.'));
    const deadline = setTimeout(
      () => finish(new UnreadableDocumentError('The PDF took too long to read.')),
      limits.deadlineMs,
    );
    const memoryBytes = limits.memoryMb * 1024 * 1024;
    const watch = setInterval(() => {
      // Refused while the worker starts or after it ended: 'exit' tells the end.
      worker.getHeapStatistics().then(
        (heap) => {
          if (heap.used_heap_size + heap.external_memory > memoryBytes) tooBig();
        },
        () => undefined,
      );
    }, MEMORY_CHECK_MS);
    worker.once('message', (answer: WorkerAnswer) => finish(answer));
    // Out of its heap (ERR_WORKER_OUT_OF_MEMORY), or pdf.js threw outside its promises.
    worker.once('error', tooBig);
    worker.once('exit', tooBig);
  });
}
