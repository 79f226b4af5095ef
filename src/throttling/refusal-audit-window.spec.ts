import { RefusalAuditWindow } from './refusal-audit-window';

describe('RefusalAuditWindow', () => {
  it('lets the first refusal of each block through, per key, and the first of the next block', () => {
    let now = 1_000_000;
    const window = new RefusalAuditWindow(() => now);
    expect(window.firstOfBlock('caller:a', 60)).toBe(true);
    expect(window.firstOfBlock('caller:a', 59)).toBe(false);
    expect(window.firstOfBlock('caller:b', 60)).toBe(true);
    now += 59_999;
    expect(window.firstOfBlock('caller:a', 1)).toBe(false);
    now += 1;
    expect(window.firstOfBlock('caller:a', 60)).toBe(true);
  });
});
