import { scrubErrors, valuesOf } from '../src/graphql/scrub-values';

/**
 * The last guard of "no error echoes a variable's value": whatever a scalar, a library or a
 * resolver words into an error, the request's own values are cut out before it leaves.
 */
describe('cutting variable values out of errors', () => {
  const variables = {
    input: { email: 'someone@example.com', password: 'hunter-Secret-99', tags: ['alpha', 'no'] },
    limit: 98765432101,
  };

  it('should cut every string and number of the variables out of messages and extensions, at any depth', () => {
    const [error] = scrubErrors(
      [
        {
          message: 'Custom scalar refused { password: "hunter-Secret-99" } and 98765432101',
          extensions: {
            code: 'BAD_USER_INPUT',
            fields: { 'input.password': 'got hunter-Secret-99', list: ['alpha beta'] },
          },
        },
      ],
      variables,
    );
    const text = JSON.stringify(error);
    expect(text).not.toContain('hunter-Secret-99');
    expect(text).not.toContain('98765432101');
    expect(text).not.toContain('alpha');
    expect(error!.message).toBe('Custom scalar refused { password: "[value]" } and [value]');
    expect(error!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('should leave short values and errors of requests without variables as they are', () => {
    const errors = [{ message: 'no is not a tag', extensions: { code: 'BAD_USER_INPUT' } }];
    expect(scrubErrors(errors, variables)).toEqual(errors);
    expect(scrubErrors(errors, undefined)).toEqual(errors);
    expect(valuesOf(variables)).toEqual([
      'someone@example.com',
      'hunter-Secret-99',
      '98765432101',
      'alpha',
    ]);
  });

  it('should walk variables of 200,000 values without overflowing the stack', () => {
    const many = { tags: Array.from({ length: 200_000 }, (_, i) => `value-${i}`), key: 'k-secret' };
    const [error] = scrubErrors([{ message: 'refused value-12 and k-secret' }], many);
    expect(error!.message).toBe('refused [value] and [value]');
  });
});
