import { DepthError, jsonDepth, parseJsonBody } from './json-body.middleware';

const parse = (text: string): unknown => parseJsonBody(Buffer.from(text, 'utf8'), 64);

describe('parseJsonBody', () => {
  it('drops keys that could reach a prototype, however they are spelled', () => {
    const parsed = parse(
      '{"a":{"__proto__":{"x":1},"\\u0063onstructor":{"name":"Function"},"proto\\u0074ype":1,"kept":"\\u0041"}}',
    ) as { a: Record<string, unknown> };
    expect(Object.keys(parsed.a)).toEqual(['kept']);
    expect(parsed.a.kept).toBe('A');
    expect(Object.getPrototypeOf(parsed.a)).toBe(Object.prototype);
    // Escaped alone, without a plain spelling elsewhere in the body to give it away.
    expect(parse('{"p":{"\\u0063onstructor":{"name":"Function"},"kept":1}}')).toEqual({ p: { kept: 1 } });
  });

  it('accepts objects and arrays only, and refuses nesting past the limit', () => {
    expect(parse('  ')).toBeUndefined();
    expect(() => parse('"text"')).toThrow(SyntaxError);
    expect(parse('[1,{"b":[2]}]')).toEqual([1, { b: [2] }]);
    expect(jsonDepth('[[["]]]]]"]]]', 10)).toBe(3);
    expect(() => parseJsonBody(Buffer.from('[[[[1]]]]'), 3)).toThrow(DepthError);
  });
});
