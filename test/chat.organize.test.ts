import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatEventsDocument,
  ChatsDocument,
  ChatTagsDocument,
  CreateChatDocument,
  UpdateChatDocument,
  type ChatFilter,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

/** Pin, archive and tag chats, and list them by those. */
describe('organizing chats', () => {
  const app = useTestApp();

  async function newChat(user: TestUser, title: string) {
    return (
      await app
        .http()
        .data(CreateChatDocument, { input: { title } }, { token: user.auth.accessToken })
    ).createChat;
  }

  const update = (user: TestUser, id: string, input: Record<string, unknown>) =>
    app.http().request(UpdateChatDocument, { id, input }, { token: user.auth.accessToken });

  async function titles(user: TestUser, filter?: ChatFilter | null, limit = 20) {
    const { chats } = await app
      .http()
      .data(ChatsDocument, { limit, filter }, { token: user.auth.accessToken });
    return { titles: chats.nodes.map((c) => c.title), totalCount: chats.totalCount };
  }

  it('should pin, archive and tag a chat, with tags trimmed and repeats dropped ignoring case', async () => {
    const user = await registerUser(app);
    const chat = await newChat(user, 'Organize me');
    expect(chat).toMatchObject({ pinned: false, archivedAt: null, tags: [] });
    const updated = await update(user, chat.id, {
      pinned: true,
      archived: true,
      tags: ['  Work ', 'work', 'Ideas', 'IDEAS', 'tea'],
    });
    expect(updated.data!.updateChat).toMatchObject({
      pinned: true,
      tags: ['Work', 'Ideas', 'tea'],
    });
    const archivedAt = updated.data!.updateChat.archivedAt!;
    expect(new Date(archivedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // Archiving again keeps the first date; un-archiving clears it.
    const again = await update(user, chat.id, { archived: true });
    expect(again.data!.updateChat.archivedAt).toBe(archivedAt);
    const back = await update(user, chat.id, { archived: false, pinned: false, tags: [] });
    expect(back.data!.updateChat).toMatchObject({ archivedAt: null, pinned: false, tags: [] });
  });

  it('should refuse tags beyond the limits with BAD_USER_INPUT and change nothing', async () => {
    const user = await registerUser(app);
    const chat = await newChat(user, 'Limits');
    await update(user, chat.id, { tags: ['keep'] });
    const tooMany = Array.from({ length: 21 }, (_, i) => `t${i}`);
    const hidden = ['nul\u0000', 'bell\u0007', 'evil\u202Egnp.exe', 'iso\u2066late', 'mark\u200F'];
    for (const tags of [
      tooMany,
      ['x'.repeat(41)],
      ['😀'.repeat(41)],
      ['   '],
      ['ok', ''],
      ...hidden.map((t) => [t]),
    ]) {
      const result = await update(user, chat.id, { tags, title: 'Renamed' });
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.extensions!.fields).toHaveProperty('tags');
    }
    // 20 distinct tags of 40 characters are fine (emoji and HTML-looking text too), and so
    // are 21 that repeat one another.
    const twenty = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(40, 'x'));
    twenty[0] = '👩‍💻 <b>&amp;</b>';
    twenty[1] = '😀'.repeat(40);
    expect((await update(user, chat.id, { tags: twenty })).data!.updateChat.tags).toHaveLength(20);
    expect(
      (await update(user, chat.id, { tags: [...Array(20).keys()].map(String).concat('0') })).data!
        .updateChat.tags,
    ).toHaveLength(20);
    const { titles: listed } = await titles(user);
    expect(listed).toEqual(['Limits']);
  });

  it('should refuse a list of 130,000 distinct tags at once, and keep answering others meanwhile', async () => {
    const user = await registerUser(app);
    const chat = await newChat(user, 'Flood');
    const flood = Array.from({ length: 130_000 }, (_, i) => i.toString(36)); // 862 KB
    const started = Date.now();
    const [result, me] = await Promise.all([
      update(user, chat.id, { tags: flood }),
      sleep(20).then(() => titles(user)),
    ]);
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.extensions!.fields).toHaveProperty('tags');
    expect(me.titles).toEqual(['Flood']);
    console.log(`130,000 tags refused in ${Date.now() - started} ms`);
  });

  it('should hide archived chats by default and filter by archived, pinned and tag, with paging', async () => {
    const user = await registerUser(app);
    const made: Record<string, string> = {};
    for (const title of ['a', 'b', 'c', 'd', 'e', 'f'])
      made[title] = (await newChat(user, title)).id;
    await update(user, made.a!, { archived: true, tags: ['Old'] });
    await update(user, made.b!, { pinned: true, tags: ['Work', 'old'] });
    await update(user, made.c!, { pinned: true, archived: true });
    await update(user, made.d!, { tags: ['work'] });

    // Latest activity first; an update is activity.
    expect(await titles(user)).toEqual({ titles: ['d', 'b', 'f', 'e'], totalCount: 4 });
    expect(await titles(user, {})).toEqual({ titles: ['d', 'b', 'f', 'e'], totalCount: 4 });
    expect(await titles(user, { archived: true })).toEqual({ titles: ['c', 'a'], totalCount: 2 });
    expect((await titles(user, { archived: null })).totalCount).toBe(6);
    expect(await titles(user, { pinned: true })).toEqual({ titles: ['b'], totalCount: 1 });
    expect(await titles(user, { pinned: true, archived: null })).toEqual({
      titles: ['c', 'b'],
      totalCount: 2,
    });
    expect(await titles(user, { pinned: false })).toEqual({
      titles: ['d', 'f', 'e'],
      totalCount: 3,
    });
    expect(await titles(user, { tag: 'WORK' })).toEqual({ titles: ['d', 'b'], totalCount: 2 });
    expect(await titles(user, { tag: ' old ', archived: null })).toEqual({
      titles: ['b', 'a'],
      totalCount: 2,
    });

    // Paging with the cursor keeps the filter, through aliases and inline literals too.
    const token = user.auth.accessToken;
    const firstPage = await app.http().raw<{
      p: { nodes: Array<{ title: string }>; pageInfo: { endCursor: string; hasNextPage: boolean } };
    }>('{ p: chats(limit: 1, filter: { tag: "work" }) { nodes { title } pageInfo { endCursor hasNextPage } } }', undefined, { token });
    expect(firstPage.data!.p.nodes.map((n) => n.title)).toEqual(['d']);
    expect(firstPage.data!.p.pageInfo.hasNextPage).toBe(true);
    const second = await app.http().raw<{
      chats: { nodes: Array<{ title: string }>; pageInfo: { hasNextPage: boolean } };
    }>('query Next($cursor: String, $f: ChatFilter) { chats(limit: 1, after: $cursor, filter: $f) { nodes { title } pageInfo { hasNextPage } } }', { cursor: firstPage.data!.p.pageInfo.endCursor, f: { tag: 'work' } }, { token });
    expect(second.data!.chats).toEqual({
      nodes: [{ title: 'b' }],
      pageInfo: { hasNextPage: false },
    });
    const searched = await app
      .http()
      .data(ChatsDocument, { search: 'B', filter: { archived: null } }, { token });
    expect(searched.chats.nodes.map((c) => c.title)).toEqual(['b']);
  });

  it("should count the caller's tags across chats, and nobody else's", async () => {
    const user = await registerUser(app);
    const other = await registerUser(app);
    const one = await newChat(user, 'one');
    const two = await newChat(user, 'two');
    await update(user, one.id, { tags: ['Work', 'tea'] });
    await update(user, two.id, { tags: ['work'], archived: true });
    const theirs = await newChat(other, 'theirs');
    await update(other, theirs.id, { tags: ['secret'] });
    const { chatTags } = await app
      .http()
      .data(ChatTagsDocument, {}, { token: user.auth.accessToken });
    expect(chatTags).toEqual([
      { tag: 'Work', count: 2 },
      { tag: 'tea', count: 1 },
    ]);
  });

  it('should push UPDATED to chatEvents for pin, archive and tags', async () => {
    const user = await registerUser(app);
    const chat = await newChat(user, 'watched');
    const socket = app.socket(user.auth.accessToken);
    const events = socket.subscribe(ChatEventsDocument, {});
    await socket.connected;
    await sleep(100);
    await update(user, chat.id, { pinned: true });
    await update(user, chat.id, { archived: true });
    await update(user, chat.id, { tags: ['x'] });
    const got = await events.waitForEvents(3, 5_000);
    expect(got.map((e) => e.data!.chatEvents)).toEqual(
      Array(3).fill(expect.objectContaining({ type: 'UPDATED', chatId: chat.id })),
    );
    await socket.dispose();
  });

  it("should answer NOT_FOUND when organizing another user's chat", async () => {
    const owner = await registerUser(app);
    const stranger = await registerUser(app);
    const chat = await newChat(owner, 'not yours');
    for (const input of [{ pinned: true }, { archived: true }, { tags: ['mine'] }]) {
      expect(errorCode(await update(stranger, chat.id, input))).toBe('NOT_FOUND');
    }
    expect((await titles(owner)).titles).toEqual(['not yours']);
    const { chats } = await app
      .http()
      .data(ChatsDocument, { filter: { archived: null } }, { token: owner.auth.accessToken });
    expect(chats.nodes[0]).toMatchObject({ pinned: false, archivedAt: null, tags: [] });
  });

  it('should list a filtered page in as many database commands as an unfiltered one', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    for (let i = 0; i < 5; i++) {
      const chat = await newChat(user, `chat ${i}`);
      await update(user, chat.id, { tags: ['t'], pinned: i % 2 === 0 });
    }
    await app.http().data(ChatsDocument, {}, { token }); // the session is read once, then cached
    const plain = await app.countCommands(() => app.http().data(ChatsDocument, {}, { token }));
    const filtered = await app.countCommands(() =>
      app.http().data(ChatsDocument, { filter: { tag: 't', pinned: true } }, { token }),
    );
    expect(filtered.names.sort()).toEqual(plain.names.sort());
  });
});
