import { parameterAttributes, pathOf, REDACTED, redactJson, redactQuery, redactUrl, sanitizeSql } from './redaction';

describe('redactQuery', () => {
  it('keeps the names and removes every value', () => {
    expect(redactQuery('token=abc&x=1&flag')).toBe('token=REDACTED&x=REDACTED&REDACTED');
    // A token sent on its own, and data sent where a name goes, are not kept either.
    expect(redactQuery('s3cr3tTok')).toBe('REDACTED');
    expect(redactQuery('4111111111111111=1&page[size]=2')).toBe('REDACTED=REDACTED&page[size]=REDACTED');
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

describe('redactJson', () => {
  const esBody = {
    responseId: 'r-1',
    session: 'projects/bank/agent/environments/live/users/u-7/sessions/s-42',
    queryResult: {
      queryText: 'what is my balance, my PIN is 1234',
      parameters: { account_type: 'checking', user_id: '12345', pin: 1234, tags: ['a', 'b'], vip: true },
      intent: { name: 'projects/bank/agent/intents/9f', displayName: 'GetAccountBalance' },
      languageCode: 'en',
      outputContexts: [
        { name: 'projects/bank/agent/sessions/s-42/contexts/awaiting', lifespanCount: 5, parameters: null },
      ],
    },
  };

  it('keeps every key and hides every value not on the allow-list, however deep', () => {
    expect(redactJson(esBody, ['account_type'])).toEqual({
      responseId: REDACTED,
      session: `projects/${REDACTED}/agent/environments/live/users/${REDACTED}/sessions/${REDACTED}`,
      queryResult: {
        queryText: REDACTED,
        parameters: {
          account_type: 'checking',
          user_id: REDACTED,
          pin: REDACTED,
          tags: [REDACTED, REDACTED],
          vip: REDACTED,
        },
        intent: { name: `projects/${REDACTED}/agent/intents/9f`, displayName: 'GetAccountBalance' },
        languageCode: 'en',
        outputContexts: [
          {
            name: `projects/${REDACTED}/agent/sessions/${REDACTED}/contexts/awaiting`,
            lifespanCount: REDACTED,
            parameters: null,
          },
        ],
      },
    });
  });

  it('shows nothing but protocol fields with an empty allow-list, and never changes its input', () => {
    const before = JSON.stringify(esBody);
    const redacted = JSON.stringify(redactJson(esBody, []));
    expect(redacted).not.toContain('12345');
    expect(redacted).not.toContain('1234');
    expect(redacted).not.toContain('checking');
    expect(redacted).not.toContain('s-42');
    expect(redacted).not.toContain('u-7');
    expect(JSON.stringify(esBody)).toBe(before);
  });

  it('shows protocol fields only in their places: under parameters, slots or attributes a key named state is data', () => {
    const lex = {
      invocationSource: 'FulfillmentCodeHook',
      sessionState: {
        intent: {
          name: 'BookAppointment',
          state: 'ReadyForFulfillment',
          slots: { state: { shape: 'Scalar', value: { interpretedValue: 'NY' } } },
        },
        sessionAttributes: { state: 'NY', confirmation: 'AB12-99' },
        activeContexts: [{ name: 'booking', contextAttributes: { displayName: 'Jane Roe' } }],
      },
      transcriptions: [{ resolvedSlots: { tag: 'HIV clinic' } }],
    };
    const redacted = redactJson(lex, []) as typeof lex;
    expect(redacted.invocationSource).toBe('FulfillmentCodeHook');
    expect(redacted.sessionState.intent.state).toBe('ReadyForFulfillment');
    expect(redacted.sessionState.sessionAttributes).toEqual({ state: REDACTED, confirmation: REDACTED });
    expect(redacted.sessionState.intent.slots.state).toEqual({
      shape: REDACTED,
      value: { interpretedValue: REDACTED },
    });
    expect(redacted.sessionState.activeContexts[0].contextAttributes).toEqual({ displayName: REDACTED });
    expect(redacted.transcriptions[0].resolvedSlots).toEqual({ tag: REDACTED });
    const es = {
      queryResult: { parameters: { state: 'NY' } },
      originalDetectIntentRequest: { payload: { user: { displayName: 'Jane Roe' } } },
    };
    expect(JSON.stringify(redactJson(es, []))).not.toMatch(/NY|Jane/);
    // What the allow-list names is shown wherever it is.
    expect(redactJson(es, ['state'])).toMatchObject({ queryResult: { parameters: { state: 'NY' } } });
  });

  it('redacts a body that is a bare value', () => {
    expect(redactJson('secret', [])).toBe(REDACTED);
    expect(redactJson(null, [])).toBeNull();
  });
});
