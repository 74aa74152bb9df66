/** Column values as the drivers hand them back (PostgreSQL BIGINT arrives as a string). */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const optStr = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** JSON columns are TEXT in SQLite and JSONB in PostgreSQL (which pg hands back parsed). */
export function fromJson(v: unknown, parsedByDriver: boolean): unknown {
  if (v === null || v === undefined) return undefined;
  return parsedByDriver ? v : JSON.parse(String(v));
}
