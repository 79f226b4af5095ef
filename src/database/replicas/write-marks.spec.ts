import { WriteMarks } from './write-marks';
import { hasReached } from './wal-position';

describe('WriteMarks', () => {
  it('keeps the furthest position another replica reported for a scope', () => {
    const marks = new WriteMarks();
    marks.noteReported('s', '0/300');
    marks.noteReported('s', '0/200');
    expect(marks.of('s')).toBe('0/300');
  });

  it('sends a scope written at an unknown position to the primary: no replica reaches its mark', () => {
    const marks = new WriteMarks();
    marks.noteReported('s', 'unknown');
    expect(hasReached('FFFFFFFE/0', marks.of('s') as string)).toBe(false);
  });

  it('ignores a reported position that is not one', () => {
    const marks = new WriteMarks();
    marks.noteReported('s', 'garbage');
    expect(marks.of('s')).toBeUndefined();
  });
});
