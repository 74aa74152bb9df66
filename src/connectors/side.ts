/**
 * The usual shape of a network's key in a mapping: one room or a list, each a bare room id or
 * `{ room, readOnly }`. A network whose rooms are written otherwise (QQ: `{ group: N }`) writes
 * its own side schema.
 */
import { z } from 'zod';
import type { SideRoom } from './network.js';

export function listSide(room: z.ZodType<string | number>, canonical: (room: string) => string): z.ZodType<SideRoom[]> {
  const one = z.union([room, z.object({ room, readOnly: z.boolean().optional() }).strict()]);
  return z
    .union([one, z.array(one).min(1, { error: 'expected at least one room' })])
    .transform((value) => {
      const list = Array.isArray(value) ? value : [value];
      return list.map((s, i): SideRoom => {
        const at = Array.isArray(value) ? [i] : [];
        const written = String(typeof s === 'object' ? s.room : s);
        return typeof s === 'object' ? { room: canonical(written), written, readOnly: s.readOnly, at } : { room: canonical(written), written, at };
      });
    });
}

/** A room schema built from a codec's `validate`, so config and connector accept exactly the same strings. */
export function roomString(validate: (room: string) => string | undefined): z.ZodType<string> {
  return z.string().superRefine((s, ctx) => {
    const why = validate(s);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });
}
