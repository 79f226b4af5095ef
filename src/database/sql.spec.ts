import { containsPattern } from './sql';

describe('containsPattern', () => {
  it('wraps the text in wildcards', () => {
    expect(containsPattern('travel mouse')).toBe('%travel mouse%');
  });

  it("escapes the user's own wildcards and escape character, so they match only themselves", () => {
    expect(containsPattern('50%_off\\')).toBe('%50\\%\\_off\\\\%');
    expect(containsPattern('%')).toBe('%\\%%');
  });
});
