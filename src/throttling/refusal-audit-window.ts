/** Keys remembered at most (one per counter blocked at once, per replica); past it, all are forgotten at once. */
const MAX_REMEMBERED = 10_000;

/**
 * Which rate-limit refusals get an audit row: the first of each block, one per counter and block window (per
 * replica). A flood of refused calls is one row, not a row each, which would spend the source's audit budget
 * (AUDIT_MAX_PER_SOURCE) and drop the security events of everyone else behind the same address.
 */
export class RefusalAuditWindow {
  private readonly until = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True for the first refusal of `key`'s block (which lasts `blockedForSeconds` more), false for the rest. */
  firstOfBlock(key: string, blockedForSeconds: number): boolean {
    const now = this.now();
    if ((this.until.get(key) ?? 0) > now) return false;
    if (this.until.size >= MAX_REMEMBERED) this.until.clear();
    this.until.set(key, now + blockedForSeconds * 1000);
    return true;
  }
}
