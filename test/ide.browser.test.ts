/// <reference lib="dom" />
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage, streamToEnd } from './helpers/chat';
import { TestApp } from './helpers/test-app';

/**
 * The GraphQL IDE in a real headless Chromium (Debian's `chromium`, which the test run installs where missing),
 * driven by puppeteer-core: what a person sees when they open /graphql or a shared link.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `IDE browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

/** The text of a GraphiQL editor (CodeMirror 5 keeps its instance on the element). */
const editorText = (page: Page, selector: string) =>
  page.$eval(`${selector} .CodeMirror`, (element) =>
    (element as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue(),
  );

/** Waits until the response pane holds JSON satisfying `ready`, and returns it. */
async function responseJson(page: Page, ready: (json: any) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await editorText(page, '.graphiql-response').catch(() => '');
    try {
      const json = JSON.parse(last);
      if (ready(json)) return json;
    } catch {
      // not JSON yet (empty, or a subscription's frames still arriving)
    }
    await sleep(100);
  }
  throw new Error(`the IDE showed no matching response within ${timeoutMs} ms; last: ${last}`);
}

(haveChromium ? describe : describe.skip)('the GraphQL IDE in a browser', () => {
  let app: TestApp;
  let user: TestUser;
  let browser: Browser;
  let profile: string;
  beforeAll(async () => {
    app = await TestApp.start();
    user = await registerUser(app);
    profile = await mkdtemp(path.join(tmpdir(), 'palaver-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      // As root in a closed network: no sandbox, and nothing that phones home.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  const openIde = async (url: string, headers?: Record<string, string>) => {
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (request) => failed.push(request.url()));
    if (headers) {
      // What a person types into the Headers tab (GraphiQL keeps it in localStorage).
      await page.evaluateOnNewDocument((value) => {
        localStorage.setItem('graphiql:headers', value);
      }, JSON.stringify(headers));
    }
    await page.goto(url, { waitUntil: 'networkidle0' });
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 10_000 });
    expect(failed).toEqual([]);
    return page;
  };
  const run = (page: Page) => page.click('.graphiql-execute-button');

  it('should open a shared link (/graphql?query=…) as the IDE with that query, and run it', async () => {
    const query = 'query SharedProviders {\n  llmProviders {\n    llm\n    defaultModel\n  }\n}';
    const page = await openIde(`${app.url}?query=${encodeURIComponent(query)}`);
    try {
      expect(await editorText(page, '.graphiql-query-editor')).toBe(query);
      await run(page);
      const json = await responseJson(page, (j) => Array.isArray(j?.data?.llmProviders));
      expect(json.data.llmProviders.map((p: { llm: string }) => p.llm)).toContain('OPEN_AI');
      // The address follows the editor, so the link can be shared again after an edit.
      await page.evaluate(() => {
        const editor = document.querySelector('.graphiql-query-editor .CodeMirror') as unknown as {
          CodeMirror: { setValue(value: string): void };
        };
        editor.CodeMirror.setValue('{ llmProviders { llm } }');
      });
      await page.waitForFunction(
        () => new URLSearchParams(location.search).get('query') === '{ llmProviders { llm } }',
        { timeout: 5_000 },
      );
      expect(new URL(page.url()).searchParams.get('query')).toBe('{ llmProviders { llm } }');
    } finally {
      await page.close();
    }
  });

  it('should sign in through the Headers tab and stream a subscription over the socket', async () => {
    const sent = await sendMessage(app, user.auth.accessToken, { prompt: 'hello from the IDE' });
    const socket = app.socket(user.auth.accessToken);
    const events = await streamToEnd(socket, sent.assistantMessage.id);
    await socket.dispose();
    const content = events.at(-1)!.message!.content;

    const query = `subscription { messageStream(messageId: "${sent.assistantMessage.id}") { done message { content } } }`;
    const page = await openIde(`${app.url}?query=${encodeURIComponent(query)}`, {
      Authorization: `Bearer ${user.auth.accessToken}`,
    });
    try {
      await run(page);
      const json = await responseJson(page, (j) => j?.data?.messageStream?.done === true);
      expect(json.data.messageStream.message.content).toBe(content);
    } finally {
      await page.close();
    }
  });
});
