/**
 * The `updated_at` a write gives the row aliased `t`: now, or a millisecond past the stored value when that is
 * later — so that two writes of one record never leave the same version (definitions/record-version.ts), even within
 * one millisecond or with a clock that stepped back. `greatest` skips the NULL of a row never updated.
 */
export function nextUpdatedAt(t: string): string {
  return `greatest(now(), ${t}.updated_at + interval '1 millisecond', ${t}.created_at + interval '1 millisecond')`;
}
