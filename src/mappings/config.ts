import { z } from 'zod';

/** How a link names its QQ side: by the group's stable number, or a discussion by its name. */
export type QqTarget = { kind: 'group'; number: number } | { kind: 'discussion'; name: string };

export type LinkNetwork = 'qq' | 'irc' | 'matrix' | 'telegram';

/** One room of a link, as the route table sees it. */
export interface LinkRoom {
  network: LinkNetwork;
  /** The connector's room id: `group:<number>` / `discussion:<name>`, `#chan`, `!id:hs`, the chat id. */
  room: string;
  /** The room only receives: what is said there is relayed nowhere. */
  readOnly: boolean;
}

/** One N-way link from the config, normalised. */
export interface MappingLink {
  name?: string;
  qq: QqTarget;
  /** Every room of the link; `rooms[0]` is the QQ room. */
  rooms: LinkRoom[];
  /** `file:line:col` of the link in the config, filled in by the config loader when known. */
  source?: string;
}

export function qqRoomName(target: QqTarget): string {
  return target.kind === 'group' ? `group:${target.number}` : `discussion:${target.name}`;
}

/** A human name for a link in logs and errors: its name, else its QQ side. */
export function describeLink(link: MappingLink): string {
  const qq = link.qq.kind === 'group' ? `QQ group ${link.qq.number}` : `QQ discussion ${JSON.stringify(link.qq.name)}`;
  const name = link.name ? `link ${JSON.stringify(link.name)} (${qq})` : qq;
  return link.source ? `${name} at ${link.source}` : name;
}

/**
 * Room ids compare the way their network compares them: IRC channel names are case-insensitive
 * (RFC 1459 casemapping folds []\~ too), the others are exact.
 */
export function roomKey(network: string, room: string): string {
  if (network === 'irc') return `irc\0${room.toLowerCase().replace(/\[/g, '{').replace(/\]/g, '}').replace(/\\/g, '|').replace(/~/g, '^')}`;
  return `${network}\0${room}`;
}

const ircChannel = z
  .string()
  .regex(/^[#&+!][^\s,\x07]{1,199}$/, { error: 'expected an IRC channel such as "#chan" (no spaces or commas)' });
const matrixRoom = z
  .string()
  .regex(/^[!#][^:\s]+:\S+$/, { error: 'expected a Matrix room id "!id:server" or alias "#alias:server"' });
const telegramChat = z.union([
  z.number().int({ error: 'expected a Telegram chat id (an integer such as -1001234567890)' }),
  z.string().regex(/^-?\d+$|^@\w{5,}$/, { error: 'expected a Telegram chat id such as -1001234567890 or "@channel"' }),
]);

function side<T extends z.ZodType>(room: T) {
  const one = z.union([room, z.object({ room, readOnly: z.boolean().optional() }).strict()]);
  return z.union([one, z.array(one).min(1, { error: 'expected at least one room' })]);
}

const qqSide = z
  .object({
    group: z.number().int().positive({ error: 'expected a QQ group number (a positive integer)' }).optional(),
    discussion: z.string().min(1).optional(),
    readOnly: z.boolean().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.group === undefined) === (v.discussion === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected exactly one of "group: <group number>" or "discussion: <discussion name>"',
      });
    }
  });

const OTHER_NETWORKS = ['irc', 'matrix', 'telegram'] as const;

const rawLink = z
  .object({
    name: z.string().min(1).optional(),
    qq: qqSide,
    irc: side(ircChannel).optional(),
    matrix: side(matrixRoom).optional(),
    telegram: side(telegramChat).optional(),
    /** Every non-QQ room of the link only receives: nothing flows back to QQ (or anywhere). */
    readOnly: z.boolean().default(false),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!OTHER_NETWORKS.some((n) => v[n] !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a link needs its QQ side and at least one other room (irc, matrix or telegram)',
      });
    }
  });

type RawLink = z.output<typeof rawLink>;
type RawSide = string | number | { room: string | number; readOnly?: boolean | undefined };

/** Every room of a raw link with its path inside the link, for error positions. */
function roomsOf(link: RawLink): Array<LinkRoom & { at: (string | number)[] }> {
  const qq: QqTarget = link.qq.group !== undefined
    ? { kind: 'group', number: link.qq.group }
    : { kind: 'discussion', name: link.qq.discussion! };
  const out: Array<LinkRoom & { at: (string | number)[] }> = [
    { network: 'qq', room: qqRoomName(qq), readOnly: link.qq.readOnly ?? false, at: ['qq'] },
  ];
  for (const network of OTHER_NETWORKS) {
    const value = link[network] as RawSide | RawSide[] | undefined;
    if (value === undefined) continue;
    const list = Array.isArray(value) ? value : [value];
    list.forEach((s, i) => {
      const at = Array.isArray(value) ? [network, i] : [network];
      if (typeof s === 'object') out.push({ network, room: String(s.room), readOnly: s.readOnly ?? link.readOnly, at });
      else out.push({ network, room: String(s), readOnly: link.readOnly, at });
    });
  }
  return out;
}

function normalise(link: RawLink): MappingLink {
  const rooms = roomsOf(link).map(({ network, room, readOnly }) => ({ network, room, readOnly }));
  const qq: QqTarget = link.qq.group !== undefined
    ? { kind: 'group', number: link.qq.group }
    : { kind: 'discussion', name: link.qq.discussion! };
  return link.name ? { name: link.name, qq, rooms } : { qq, rooms };
}

/**
 * The `mappings:` section: a list of N-way links. Each room may appear in one link only (a room
 * in two links would echo messages between them); the output is normalised to MappingLink.
 */
export const mappingsConfigSchema = z
  .array(rawLink)
  .superRefine((links, ctx) => {
    const seen = new Map<string, number>();
    links.forEach((link, i) => {
      for (const r of roomsOf(link)) {
        const key = roomKey(r.network, r.room);
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, i);
          continue;
        }
        const where = first === i ? 'earlier in this link' : `in link ${first + 1}${links[first]?.name ? ` (${JSON.stringify(links[first]!.name)})` : ''}`;
        ctx.addIssue({
          code: 'custom',
          path: [i, ...r.at],
          message: `${r.network} room ${JSON.stringify(r.room)} is already mapped ${where}; a room may belong to one link only`,
        });
      }
    });
  })
  .transform((links) => links.map(normalise));

export type MappingsConfig = z.output<typeof mappingsConfigSchema>;
