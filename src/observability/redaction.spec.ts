import { parameterAttributes, pathOf, redactQuery, redactUrl, sanitizeSql } from './redaction';

describe('redactQuery', () => {
  it('keeps the names and removes every value', () => {
    expect(redactQuery('token=abc&x=1&flag')).toBe('token=REDACTED&x=REDACTED&flag');
    expect(redactQuery('')).toBe('');
    expect(redactQuery('a=b=c')).toBe('a=REDACTED');
  });
});

describe('redactUrl', () => {
  it('removes query values, user and password; keeps scheme, host, path and fragment-free', () => {
    expect(redactUrl('https://user:pw@hooks.example.com:8443/cb?sig=s3cr3t&id=7#top')).toBe(
      'https://hooks.example.com:8443/cb?sig=REDACTED&id=REDACTED',
    );
    expect(redactUrl('/v1/webhooks/generic?token=t')).toBe('/v1/webhooks/generic?token=REDACTED');
    expect(redactUrl('http://example.com/path')).toBe('http://example.com/path');
  });
});

describe('pathOf', () => {
  it('drops the query string', () => {
    expect(pathOf('/health/ready?verbose=1')).toBe('/health/ready');
    expect(pathOf(undefined)).toBe('');
  });
});

describe('sanitizeSql', () => {
  it('replaces string and number literals, never placeholders, names or casts', () => {
    expect(
      sanitizeSql(
        "SELECT t1.id FROM accounts t1 WHERE t1.owner = 'Jane O''Neil' AND balance > 1000.5 AND id = $1::int4 LIMIT 10",
      ),
    ).toBe('SELECT t1.id FROM accounts t1 WHERE t1.owner = ? AND balance > ? AND id = $1::int4 LIMIT ?');
  });

  it('leaves parametrised statements as they are', () => {
    const text = 'SELECT * FROM customers WHERE customer_number = $1 AND account_type = ANY($2::text[])';
    expect(sanitizeSql(text)).toBe(text);
  });
});

describe('parameterAttributes', () => {
  const parameters = { user_id: '12345', account_type: 'checking', amount: 77.31, nested: { a: 1 }, empty: null };

  it('records the names, and values only of allow-listed parameters', () => {
    expect(parameterAttributes(parameters, ['account_type', 'amount', 'nested', 'empty', 'missing'])).toEqual({
      'fulfillment.parameter_names': ['user_id', 'account_type', 'amount', 'nested', 'empty'],
      'fulfillment.parameter.account_type': 'checking',
      'fulfillment.parameter.amount': 77.31,
      'fulfillment.parameter.nested': '{"a":1}',
    });
  });

  it('records no value without an allow-list', () => {
    const attributes = parameterAttributes(parameters, []);
    expect(Object.keys(attributes)).toEqual(['fulfillment.parameter_names']);
    expect(JSON.stringify(attributes)).not.toContain('12345');
  });

  it('bounds the number and length of what it records', () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`p${i}`, i]));
    expect(parameterAttributes(many, [])['fulfillment.parameter_names']).toHaveLength(32);
    const long = parameterAttributes({ note: 'x'.repeat(500) }, ['note'])['fulfillment.parameter.note'] as string;
    expect(long.length).toBe(128);
  });

  it('ignores inherited names', () => {
    expect(parameterAttributes({}, ['constructor', 'toString'])).toEqual({ 'fulfillment.parameter_names': [] });
  });
});
