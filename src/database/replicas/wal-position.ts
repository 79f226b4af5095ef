/** A PostgreSQL WAL position (`pg_lsn` as text, `16/B374D848`) as a number that compares exactly. */
export function walPosition(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new Error(`not a WAL position: ${lsn}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Whether position `a` has reached `b`. */
export function hasReached(a: string, b: string): boolean {
  return walPosition(a) >= walPosition(b);
}
