import { withProperties } from './objects';
import { sameHiddenClass } from './testing/hidden-class';

const haveSameMap = sameHiddenClass();

describe('withProperties', () => {
  it('copies the base and adds (or overrides) the rest, leaving both alone', () => {
    const base = { status: 200, json: '{}', replayed: true };
    const more = { replayed: false, keep: true };
    expect(withProperties(base, more)).toEqual({ status: 200, json: '{}', replayed: false, keep: true });
    expect(base).toEqual({ status: 200, json: '{}', replayed: true });
    expect(more).toEqual({ replayed: false, keep: true });
  });

  it('gives objects made alike one hidden class, also once its caller is optimised', () => {
    const make = (i: number) => withProperties({ status: 200, json: String(i) }, { replayed: false });
    const first = make(1);
    for (let i = 0; i < 20_000; i++) make(i);
    expect(haveSameMap(first, make(2))).toBe(true);
    expect(haveSameMap(make(3), make(4))).toBe(true);
  });
});
