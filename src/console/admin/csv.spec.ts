import { csvField, csvLine } from './csv';

describe('CSV', () => {
  it('quotes every value, doubles quotes, and leaves a missing value empty', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'two\nlines', null, 3])).toBe(
      '"a","b,c","say ""hi""","two\nlines",,"3"\r\n',
    );
  });

  it('keeps a spreadsheet from running a value as a formula', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+1')).toBe(`"'+1"`);
    expect(csvField('-2')).toBe(`"'-2"`);
    expect(csvField('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvField('\t=1')).toBe(`"'\t=1"`);
  });

  it('neutralises a formula after a separator inside a value, where another locale starts a cell', () => {
    expect(csvField('GET /v1/fulfillments/x;=HYPERLINK(CHAR(104));')).toBe(
      `"GET /v1/fulfillments/x;'=HYPERLINK(CHAR(104));"`,
    );
    expect(csvField('a|@SUM(A1)')).toBe(`"a|'@SUM(A1)"`);
    expect(csvField('a,+1')).toBe(`"a,'+1"`);
    expect(csvField('a\t-1')).toBe(`"a\t'-1"`);
    expect(csvField('a\n=1')).toBe(`"a\n'=1"`);
    expect(csvField('a; "=1"')).toBe(`"a;' ""=1"""`);
    expect(csvField('x-1;y=2, z@w')).toBe(`"x-1;y=2, z@w"`);
  });

  it('leaves no formula where a spreadsheet that splits on ; tab or | starts a cell', () => {
    const line = csvLine(['1', 'GET /x;=HYPERLINK(CHAR(104));', 'a|@SUM(A1)', 'b\t-1', 'c;"=1"']).trimEnd();
    for (const separator of [';', '\t', '|', ',']) {
      for (const cell of line.split(separator)) expect(cell).not.toMatch(/^[\s"]*[=+\-@]/);
    }
  });

  it('writes dates as ISO times', () => {
    expect(csvField(new Date('2026-12-02T10:00:00Z'))).toBe('"2026-12-02T10:00:00.000Z"');
  });
});
