import { splitMessage } from './lex-v2.message-split';

/** The elements left open at the end of `ssml` (a closing tag that matches none left open counts as one). */
function openElements(ssml: string): string[] {
  const open: string[] = [];
  for (const [, closing, name, selfClosing] of ssml.matchAll(/<(\/?)([^\s/>]+)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!closing) open.push(name);
    else if (open.at(-1) === name) open.pop();
    else open.push(`/${name}`);
  }
  return open;
}

describe('splitMessage', () => {
  it('leaves a text within the limit as it is', () => {
    expect(splitMessage('Short answer.', 20)).toEqual(['Short answer.']);
  });

  it('prefers a sentence end in the second half of the window, then a space', () => {
    expect(splitMessage('One two. Three four five six seven.', 20)).toEqual(['One two. Three four', 'five six seven.']);
    expect(splitMessage('Alpha beta gamma. Delta epsilon.', 20)).toEqual(['Alpha beta gamma.', 'Delta epsilon.']);
  });

  it('never cuts between the halves of a surrogate pair', () => {
    const text = 'a'.repeat(9) + '😀' + 'b'.repeat(5);
    const pieces = splitMessage(text, 10);
    expect(pieces.join('')).toBe(text);
    expect(pieces.every((piece) => piece.length <= 10 && !/[\ud800-\udbff]$/.test(piece))).toBe(true);
  });

  it('keeps SSML elements whole and wraps every piece in <speak>', () => {
    const ssml = '<speak><p>First part here.</p> <p>Second <emphasis>part</emphasis> here.</p></speak>';
    expect(splitMessage(ssml, 65)).toEqual([
      '<speak><p>First part here.</p></speak>',
      '<speak><p>Second <emphasis>part</emphasis> here.</p></speak>',
    ]);
  });

  it('splits inside a paragraph or a prosody that holds the whole reply, closing it and opening it again', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`);
    const ssml = `<speak><prosody rate="90%"><p>${words.join(' ')}</p></prosody></speak>`;
    const pieces = splitMessage(ssml, 100);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(100);
      expect(piece).toMatch(/^<speak><prosody rate="90%"><p>[^<]+<\/p><\/prosody><\/speak>$/);
    }
    const spoken = pieces.map((piece) => piece.replace(/<[^>]+>/g, '')).join(' ');
    expect(spoken).toBe(words.join(' '));
  });

  it('keeps the attributes of <speak> on every piece, each piece well-formed and within the limit', () => {
    const words = Array.from({ length: 300 }, (_, i) => `Wort${i}`);
    const speak = '<speak xml:lang="de-DE" version="1.1">';
    const ssml = `${speak}<p>Hallo.</p> <prosody rate="90%">${words.join(' ')}</prosody></speak>`;
    const pieces = splitMessage(ssml, 1000);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(1000);
      expect(piece.startsWith(speak)).toBe(true);
      expect(piece.endsWith('</speak>')).toBe(true);
      expect(openElements(piece)).toEqual([]);
    }
    const spoken = pieces.map((piece) => piece.replace(/<[^>]+>/g, ' ').trim()).join(' ');
    expect(spoken.split(/\s+/)).toEqual(['Hallo.', ...words]);
  });

  it('leaves SSML whole when its only break points are inside an element read as one (say-as)', () => {
    const ssml = `<speak><say-as interpret-as="characters">${'A B '.repeat(20).trim()}</say-as></speak>`;
    expect(splitMessage(ssml, 60)).toEqual([ssml]);
  });
});
