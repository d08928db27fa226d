import { MeDocument, UpdateProfileDocument } from './gql/graphql';
import { registerUser } from './helpers/accounts';
import { errorCode } from './helpers/http-client';
import { useTestApp } from './helpers/test-app';

describe('profile and metadata', () => {
  const app = useTestApp();

  const snapshotPrototypes = () => ({
    object: Object.getOwnPropertyNames(Object.prototype).sort(),
    array: Object.getOwnPropertyNames(Array.prototype).sort(),
    fn: Object.getOwnPropertyNames(Function.prototype).sort(),
  });

  it('should change names and merge metadata one level deep, a null removing its key', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    await app.http().data(
      UpdateProfileDocument,
      {
        input: {
          firstName: 'Grace',
          metadata: { theme: 'dark', editor: { fontSize: 14, wrap: true }, lang: 'en' },
        },
      },
      { token },
    );
    const { updateProfile } = await app
      .http()
      .data(
        UpdateProfileDocument,
        { input: { lastName: 'Hopper', metadata: { editor: { fontSize: 16 }, theme: null } } },
        { token },
      );
    expect(updateProfile.firstName).toBe('Grace');
    expect(updateProfile.lastName).toBe('Hopper');
    expect(updateProfile.metadata).toEqual({ editor: { fontSize: 16 }, lang: 'en' });
    const { me } = await app.http().data(MeDocument, {}, { token });
    expect(me.metadata).toEqual({ editor: { fontSize: 16 }, lang: 'en' });
  });

  it('should accept metadata written as a literal in the document', async () => {
    const user = await registerUser(app);
    const result = await app
      .http()
      .raw(
        'mutation { updateProfile(input: {metadata: {pinned: ["a", "b"], n: 3}}) { metadata } }',
        undefined,
        {
          token: user.auth.accessToken,
        },
      );
    expect(result.data).toEqual({ updateProfile: { metadata: { pinned: ['a', 'b'], n: 3 } } });
  });

  const attacks: Array<[string, string]> = [
    ['__proto__ at the top', '{"__proto__": {"polluted": true}}'],
    ['constructor.prototype', '{"constructor": {"prototype": {"polluted": true}}}'],
    ['prototype nested', '{"a": {"b": {"prototype": {"polluted": true}}}}'],
    ['__proto__ deep inside an array', '{"list": [{"ok": 1}, {"__proto__": {"polluted": true}}]}'],
    ['a $ operator key', '{"$where": "sleep(1000)"}'],
    ['a nested $ key', '{"a": {"$set": {"emailVerified": true}}}'],
    ['a dotted key', '{"a.b": 1}'],
    ['a nested dotted key', '{"a": {"emailVerified.x": 1}}'],
    ['an empty key', '{"": 1}'],
  ];

  describe.each(attacks)('with %s', (_case, json) => {
    it('should refuse it with BAD_USER_INPUT as a variable, keep the stored metadata, and pollute nothing', async () => {
      const user = await registerUser(app);
      const token = user.auth.accessToken;
      await app
        .http()
        .data(UpdateProfileDocument, { input: { metadata: { keep: 'me' } } }, { token });
      const before = snapshotPrototypes();

      const body = `{"query":"mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { metadata } }","variables":{"input":{"metadata":${json}}}}`;
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
      const result = (await response.json()) as {
        errors?: Array<{ extensions?: Record<string, unknown> }>;
      };
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.fields).toHaveProperty('metadata');

      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(snapshotPrototypes()).toEqual(before);
      const { me } = await app.http().data(MeDocument, {}, { token });
      expect(me.metadata).toEqual({ keep: 'me' });
    });
  });

  // Keys such as "$where", "a.b" or "" are not GraphQL names, so only these can be literals.
  const literalAttacks: Array<[string, string]> = [
    ['__proto__ at the top', '{__proto__: {polluted: true}}'],
    ['constructor.prototype', '{constructor: {prototype: {polluted: true}}}'],
    ['prototype nested', '{a: {b: {prototype: {polluted: true}}}}'],
    ['__proto__ inside a list', '{list: [{ok: 1}, {__proto__: {polluted: true}}]}'],
  ];

  it.each(literalAttacks)(
    'should refuse %s written as a literal, and pollute nothing',
    async (_case, literal) => {
      const user = await registerUser(app);
      const before = snapshotPrototypes();
      const result = await app
        .http()
        .raw(`mutation { updateProfile(input: {metadata: ${literal}}) { metadata } }`, undefined, {
          token: user.auth.accessToken,
        });
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(snapshotPrototypes()).toEqual(before);
      const { me } = await app.http().data(MeDocument, {}, { token: user.auth.accessToken });
      expect(me.metadata).toEqual({});
    },
  );

  it('should refuse metadata nested deeper than 10 levels', async () => {
    const user = await registerUser(app);
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 11; i += 1) deep = { level: deep };
    const result = await app
      .http()
      .request(
        UpdateProfileDocument,
        { input: { metadata: deep } },
        { token: user.auth.accessToken },
      );
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(
      String(
        result.errors?.[0]?.extensions?.fields &&
          (result.errors[0].extensions.fields as Record<string, string>).metadata,
      ),
    ).toMatch(/10 levels/);
  });

  it('should refuse metadata that would exceed 16 KiB once merged, keeping what was stored', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    await app
      .http()
      .data(UpdateProfileDocument, { input: { metadata: { a: 'x'.repeat(9_000) } } }, { token });
    const result = await app
      .http()
      .request(UpdateProfileDocument, { input: { metadata: { b: 'y'.repeat(9_000) } } }, { token });
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    const { me } = await app.http().data(MeDocument, {}, { token });
    expect(Object.keys(me.metadata)).toEqual(['a']);
  });

  it('should keep the merged metadata within 16 KiB when 16 updates race, each one judged on what it adds to', async () => {
    const user = await registerUser(app);
    const token = user.auth.accessToken;
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        app
          .http()
          .request(
            UpdateProfileDocument,
            { input: { metadata: { [`k${i}`]: 'z'.repeat(3_750) } } },
            { token },
          ),
      ),
    );
    const accepted = results.filter((result) => !result.errors).length;
    const codes = new Set(results.filter((r) => r.errors).map((r) => errorCode(r)));
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThanOrEqual(4); // 4 × 3,750 B (plus keys) fits; a fifth does not
    expect([...codes].every((code) => code === 'BAD_USER_INPUT' || code === 'CONFLICT')).toBe(true);
    const { me } = await app.http().data(MeDocument, {}, { token });
    expect(Buffer.byteLength(JSON.stringify(me.metadata))).toBeLessThanOrEqual(16 * 1024);
    expect(Object.keys(me.metadata)).toHaveLength(accepted);
  });

  it('should not let anybody set emailVerified or any other undeclared field', async () => {
    const user = await registerUser(app);
    const result = await app
      .http()
      .raw(
        'mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { emailVerified } }',
        { input: { emailVerified: true } },
        { token: user.auth.accessToken },
      );
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    const literal = await app
      .http()
      .raw(
        'mutation { updateProfile(input: {emailVerified: true}) { emailVerified } }',
        undefined,
        { token: user.auth.accessToken },
      );
    expect(errorCode(literal)).toBe('GRAPHQL_VALIDATION_FAILED');
    const { me } = await app.http().data(MeDocument, {}, { token: user.auth.accessToken });
    expect(me.emailVerified).toBe(false);
  });

  it('should refuse empty or overlong names', async () => {
    const user = await registerUser(app);
    const empty = await app
      .http()
      .request(
        UpdateProfileDocument,
        { input: { firstName: '' } },
        { token: user.auth.accessToken },
      );
    expect(empty.errors?.[0]?.extensions?.fields).toHaveProperty('firstName');
    const long = await app
      .http()
      .request(
        UpdateProfileDocument,
        { input: { lastName: 'x'.repeat(101) } },
        { token: user.auth.accessToken },
      );
    expect(long.errors?.[0]?.extensions?.fields).toHaveProperty('lastName');
  });

  it('should require a signed-in user', async () => {
    expect(
      errorCode(await app.http().request(UpdateProfileDocument, { input: { firstName: 'X' } })),
    ).toBe('UNAUTHENTICATED');
  });
});
