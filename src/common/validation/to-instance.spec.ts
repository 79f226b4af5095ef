import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { IsString } from 'class-validator';
import { describeMutation, mutations, PLATFORMS } from '../../platforms/testing/request-fixtures';
import { toInstance } from './to-instance';

/** Equal values with the same classes at the same places and the same own keys (undefined-valued ones too). */
function sameShape(a: unknown, b: unknown, at = '$'): string | undefined {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b) ? undefined : `${at}: ${String(a)} ≠ ${String(b)}`;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: another class`;
  const keysA = Reflect.ownKeys(a);
  const keysB = Reflect.ownKeys(b);
  if (keysA.join('\0') !== keysB.join('\0')) return `${at}: keys ${keysA.join(',')} ≠ ${keysB.join(',')}`;
  for (const key of keysA) {
    const difference = sameShape(
      (a as Record<string | symbol, unknown>)[key],
      (b as Record<string | symbol, unknown>)[key],
      `${at}.${String(key)}`,
    );
    if (difference) return difference;
  }
  return undefined;
}

class Leaf {
  @IsString()
  name!: string;

  describe(): string {
    return this.name;
  }
}

function fieldFunction(): string {
  return 'field holding a function';
}

class BaseLeaf {
  inherited(): string {
    return 'inherited';
  }
}

/** Members class-transformer tells apart: an accessor with a setter is copied onto, a getter alone is not. */
class Accessors extends BaseLeaf {
  private stored = '';
  readonly callback = fieldFunction;

  get readOnly(): string {
    return 'computed';
  }

  get writable(): string {
    return this.stored;
  }

  set writable(value: string) {
    this.stored = value;
  }
}

class Branch {
  @Type(() => Accessors)
  accessors?: Accessors;

  @Type(() => Leaf)
  leaves?: Leaf[];

  @Type(() => Leaf)
  leaf?: Leaf;

  @Type(() => Branch)
  branch?: Branch;

  extra?: unknown;
}

describe('toInstance', () => {
  for (const [platform, dto] of PLATFORMS) {
    it(`builds what plainToInstance builds from every ${platform} fixture and each mutation of each field`, () => {
      let compared = 0;
      for (const mutation of mutations(platform)) {
        const difference = sameShape(toInstance(dto, mutation.body), plainToInstance(dto, mutation.body));
        if (difference) throw new Error(`${describeMutation(mutation)}: ${difference}`);
        compared += 1;
      }
      expect(compared).toBeGreaterThan(100);
    });
  }

  it('copies like plainToInstance: classes where typed, copies elsewhere, no prototype members', () => {
    const body = {
      leaves: [{ name: 'a' }, 'not an object', null, [{ name: 'nested array' }]],
      leaf: { name: 'b', describe: 'shadowing a method', toString: 'shadowing Object.prototype' },
      branch: { branch: { leaf: { name: 'deep' } }, extra: { toString: 'x', valueOf: 1, kept: [1, { a: 2 }] } },
      extra: { hasOwnProperty: 1, list: [{ b: 1 }] },
      accessors: { readOnly: 'x', writable: 'set', callback: 'y', inherited: 'z', plain: 1 },
    };
    const ours = toInstance(Branch, body);
    expect(sameShape(ours, plainToInstance(Branch, body))).toBeUndefined();
    expect(ours.leaf).toBeInstanceOf(Leaf);
    expect(ours.leaf?.describe()).toBe('b');
    expect(ours.branch?.branch?.leaf).toBeInstanceOf(Leaf);
    // Copies, not the parsed body's own objects.
    expect(ours.extra).not.toBe(body.extra);
    expect(ours.extra).toEqual({ list: [{ b: 1 }] }); // hasOwnProperty would shadow Object.prototype's
    expect(ours.accessors).toBeInstanceOf(Accessors);
    expect(ours.accessors?.writable).toBe('set');
    expect(ours.accessors?.readOnly).toBe('computed');
    expect(ours.accessors?.callback()).toBe('field holding a function');
    expect(ours.accessors?.inherited()).toBe('inherited');
  });
});
