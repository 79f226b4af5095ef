import { DepthError, firstKeyProblem, JsonBodyError, jsonDepth, parseJsonBody } from './json-body.middleware';

const parse = (text: string): unknown => parseJsonBody(Buffer.from(text, 'utf8'), 64);

/** The error parseJsonBody throws for `input`, to inspect its message and details. */
function refusal(input: string | Buffer): JsonBodyError {
  try {
    parseJsonBody(typeof input === 'string' ? Buffer.from(input, 'utf8') : input, 64);
  } catch (error: unknown) {
    if (error instanceof JsonBodyError) return error;
    throw error;
  }
  throw new Error('parsed without a refusal');
}

describe('parseJsonBody', () => {
  it('refuses a NUL character in any string or key, naming where, and takes the text \\u0000 spelled out', () => {
    expect(refusal('{"a":{"b":["ok","x\\u0000y"]}}')).toMatchObject({
      message: 'The request body has a NUL character (\\u0000) in a.b.1.',
      details: [{ field: 'a.b.1', problem: 'holds a NUL character (\\u0000)' }],
    });
    expect(refusal('{"k\\u0000":1}').details).toEqual([
      { field: 'k\u0000', problem: 'holds a NUL character (\\u0000)' },
    ]);
    expect(refusal('["\\u0000"]').details[0].field).toBe('0');
    expect(parse('{"path":"C:\\\\u0000"}')).toEqual({ path: 'C:\\u0000' });
  });

  it('refuses a bare JSON value at the top level saying what it is, and text that is no JSON as such', () => {
    expect(refusal('null').message).toBe('The request body must be a JSON object, not a bare JSON null.');
    expect(refusal(' "just a string"').message).toBe('The request body must be a JSON object, not a bare JSON string.');
    expect(refusal('-1.5e3').message).toBe('The request body must be a JSON object, not a bare JSON number.');
    expect(refusal('false').message).toBe('The request body must be a JSON object, not a bare JSON boolean.');
    for (const text of ['nul', 'just words', '"unterminated', '1 2']) {
      expect(() => parse(text)).toThrow(SyntaxError);
    }
  });

  it('refuses keys that could reach a prototype at any depth, however they are spelled', () => {
    const spellings = [
      '"__proto__"',
      '"\\u005f_proto__"',
      '"\\u005F\\u005Fproto\\u005f\\u005f"',
      '"constructor"',
      '"construc\\u0074or"',
      '"\\u0063onstructor"',
      '"prototype"',
      '"proto\\u0074ype"',
      '"\\u0070\\u0072\\u006f\\u0074\\u006f\\u0074\\u0079\\u0070\\u0065"',
    ];
    for (const key of spellings) {
      expect(refusal(`{${key}:{"x":1}}`).details).toEqual([
        { field: JSON.parse(key), problem: 'is a key that is not allowed' },
      ]);
      const deep = refusal(`{"a":[{"kept":1},{"b":{${key}:1}}]}`);
      expect(deep.details[0].field).toBe(`a.1.b.${JSON.parse(key) as string}`);
      expect(deep.message).toContain(`a.1.b.${JSON.parse(key) as string}`);
    }
    expect(Object.getPrototypeOf(parse('{"a":{"kept":"\\u0041"}}'))).toBe(Object.prototype);
    // The words as values, or inside longer keys, are ordinary text.
    expect(parse('{"note":"__proto__ constructor prototype","constructors":1,"my_prototype":2}')).toEqual({
      note: '__proto__ constructor prototype',
      constructors: 1,
      my_prototype: 2,
    });
  });

  it('refuses a key repeated in one object at any depth, also when equal only after unescaping', () => {
    expect(refusal('{"amount":1,"amount":2}').details).toEqual([{ field: 'amount', problem: 'is a duplicate key' }]);
    expect(refusal('{"amount":1,"\\u0061mount":1000000}').details[0].field).toBe('amount');
    const deep = refusal('{"queryResult":{"parameters":{"to":"a","amount":5,"x":[1],"\\u0061mount":500}}}');
    expect(deep.details[0].field).toBe('queryResult.parameters.amount');
    expect(deep.message).toBe('The request body repeats the key queryResult.parameters.amount.');
    expect(refusal('[{"a":1},{"b":[{"c":1,"c" : 2}]}]').details[0].field).toBe('1.b.0.c');
    expect(refusal('{"":1,"":2}').details[0].field).toBe('');
    // The same key in sibling or nested objects is not a repetition.
    expect(parse('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}],"c":"\\"a\\":1,"}')).toEqual({
      a: { a: { a: 1 } },
      b: [{ a: 1 }, { a: 2 }],
      c: '"a":1,',
    });
  });

  it('names at most 200 characters of a long key path', () => {
    const key = 'k'.repeat(500);
    expect(refusal(`{"${key}":1,"${key}":2}`).details[0].field).toHaveLength(201);
  });

  it('refuses bytes that are not UTF-8: overlong forms, encoded surrogates, cut sequences, stray bytes', () => {
    const wrap = (bytes: number[]) => Buffer.concat([Buffer.from('{"t":"'), Buffer.from(bytes), Buffer.from('"}')]);
    for (const bytes of [
      [0xc0, 0xaf], // overlong "/"
      [0xe0, 0x80, 0xaf], // overlong "/" in three bytes
      [0xed, 0xa0, 0x80], // U+D800, a lone surrogate
      [0xed, 0xbf, 0xbf], // U+DFFF
      [0xe2, 0x82], // "€" cut short
      [0xf0, 0x9f, 0x98], // an emoji cut short
      [0xff],
      [0x80],
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    ]) {
      expect(refusal(wrap(bytes)).message).toBe('The request body is not valid UTF-8.');
    }
    expect(parseJsonBody(wrap([0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]), 64)).toEqual({ t: '€😀' });
    expect(parseJsonBody(Buffer.from('\ufeff{"bom":true}', 'utf8'), 64)).toEqual({ bom: true });
  });

  it('refuses an escaped lone surrogate in any string or key, and keeps escaped pairs and escaped backslashes', () => {
    for (const text of [
      '{"requestId":"abc\\ud800"}',
      '{"requestId":"abc\\uDFFF"}',
      '{"a":["x",{"b":"\\udc00y"}]}',
      '{"\\ud83d":1}',
      '{"t":"\\ude00\\ud83d"}', // the pair in the wrong order
    ]) {
      expect(refusal(text).message).toMatch(/unpaired UTF-16 surrogate/);
    }
    expect(parse('{"t":"\\ud83d\\ude00"}')).toEqual({ t: '😀' });
    expect(parse('{"t":"\\\\ud800"}')).toEqual({ t: '\\ud800' });
  });

  it('accepts objects and arrays only, and refuses nesting past the limit', () => {
    expect(parse('  ')).toBeUndefined();
    expect(() => parse('"text"')).toThrow(JsonBodyError);
    expect(parse('[1,{"b":[2]}]')).toEqual([1, { b: [2] }]);
    expect(jsonDepth('[[["]]]]]"]]]', 10)).toBe(3);
    expect(() => parseJsonBody(Buffer.from('[[[[1]]]]'), 3)).toThrow(DepthError);
  });

  it('counts brackets and members outside strings only, however a string escapes its quotes and backslashes', () => {
    // An escaped quote does not end a string; a quote after an escaped backslash does.
    expect(jsonDepth('{"a\\"[[":1}', 10)).toBe(1);
    expect(jsonDepth('{"a\\\\":[[1]]}', 10)).toBe(3);
    expect(jsonDepth('["\\\\\\"]]]"]', 10)).toBe(1);
    expect(jsonDepth('["unterminated [[[[', 2)).toBe(1);
    // Members are counted the same way: a repeated key behind escapes is still found, a colon in a string is no member.
    expect(refusal('{"k\\\\":1,"k\\\\":2}').message).toMatch(/repeats the key/);
    expect(parse('{"a\\\\":":","b":"\\\\:"}')).toEqual({ 'a\\': ':', b: '\\:' });
  });

  it('finds the depth a character-by-character reading finds, on random texts of quotes, escapes and brackets', () => {
    const byCharacter = (text: string, limit: number): number => {
      let depth = 0;
      let deepest = 0;
      let inString = false;
      for (let index = 0; index < text.length; index++) {
        const char = text[index];
        if (inString) {
          if (char === '\\') index++;
          else if (char === '"') inString = false;
        } else if (char === '"') inString = true;
        else if (char === '{' || char === '[') {
          if (++depth > deepest && (deepest = depth) > limit) return deepest;
        } else if (char === '}' || char === ']') depth--;
      }
      return deepest;
    };
    // Backslashes three times over: runs of them before a quote are what the scan must count right.
    const alphabet = ['"', '\\', '\\', '\\', '{', '}', '[', ']', ':', 'a', ','];
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 20_000; round++) {
      const text = Array.from({ length: random(24) }, () => alphabet[random(alphabet.length)]).join('');
      expect([text, jsonDepth(text, 4)]).toEqual([text, byCharacter(text, 4)]);
    }
  });
});

describe('firstKeyProblem', () => {
  it('finds nothing in JSON whose keys are unique, with colons, commas and escapes inside strings', () => {
    expect(firstKeyProblem('{"a:b":"c,d","e\\"f":{"a:b":[",",{"x":"\\\\"}]},"g":[]}')).toBeUndefined();
  });
});
