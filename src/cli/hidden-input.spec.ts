import { HiddenLineEditor } from './hidden-input';

const typed = (...chunks: string[]) => {
  const editor = new HiddenLineEditor();
  return chunks.flatMap((chunk) => editor.feed(Buffer.from(chunk, 'utf8')));
};

describe('HiddenLineEditor (keys typed at a terminal in raw mode)', () => {
  it('ends a line at Enter (CR, LF, CR LF as one) or Ctrl-D, and keeps a line typed ahead for the next answer', () => {
    expect(typed('correct horse\r', 'battery\n', 'staple\r\n', 'again\x04')).toEqual([
      { kind: 'line', text: 'correct horse' },
      { kind: 'line', text: 'battery' },
      { kind: 'line', text: 'staple' },
      { kind: 'line', text: 'again' },
    ]);
  });

  it('takes back a whole character on Backspace (DEL or Ctrl-H), and the whole line on Ctrl-U', () => {
    expect(typed('correct horsX\x7fe bat\x08\x08attery\r')).toEqual([{ kind: 'line', text: 'correct horse battery' }]);
    expect(typed('pässwort\x7f\x7f\x7f\x7f\x7fsword\r')).toEqual([{ kind: 'line', text: 'pässword' }]);
    expect(typed('wrong password\x15correct horse battery\r')).toEqual([
      { kind: 'line', text: 'correct horse battery' },
    ]);
  });

  it('gives up on Ctrl-C, and reads nothing after it', () => {
    expect(typed('correct horse\x03', ' battery\r')).toEqual([{ kind: 'interrupted' }]);
  });

  it.each([
    ['\x1b[D', 'an arrow, function or Escape key'],
    ['\x1bOH', 'an arrow, function or Escape key'],
    ['\t', 'Tab'],
    ['\x17', 'Ctrl-W'],
    ['\x00', 'Ctrl-@'],
  ])('refuses %j as a key that is no part of a password, and reads nothing after it', (key, name) => {
    expect(typed(`correct horse${key} battery\r`, 'next\r')).toEqual([{ kind: 'refused', key: name }]);
  });
});
