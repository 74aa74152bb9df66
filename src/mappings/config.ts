/**
 * The `mappings:` section: N-way links between rooms of the configured networks. Each network's
 * key in a link is read by that network's room codec (src/connectors/<net>/rooms.ts); this module
 * only knows the shape every link shares.
 */
import { z } from 'zod';
import type { SideRoom } from '../connectors/network.js';
import { displayRoom, isAnchorNetwork, NETWORKS } from '../connectors/registry.js';

/** One room of a link, as the route table sees it. */
export interface LinkRoom {
  network: string;
  /** The connector's canonical room id: `group:<number>` on QQ, `#chan` on IRC, `!id:hs` on Matrix, the chat id on Telegram. */
  room: string;
  /** The room only receives: what is said there is relayed nowhere. */
  readOnly: boolean;
}

/** One N-way link from the config (or made at runtime), normalised. */
export interface MappingLink {
  name?: string;
  /** Every room of the link, in the registry's network order. */
  rooms: LinkRoom[];
  /** `file:line:col` of the link in the config, filled in by the config loader when known. */
  source?: string;
}

/** A human name for a link in logs and errors: its name, else its anchor room (the QQ group). */
export function describeLink(link: MappingLink): string {
  const anchor = link.rooms.find((r) => isAnchorNetwork(r.network)) ?? link.rooms[0];
  const where = anchor ? displayRoom(anchor) : 'an empty link';
  const name = link.name ? `link ${JSON.stringify(link.name)} (${where})` : where;
  return link.source ? `${name} at ${link.source}` : name;
}

/** Rooms compare by network and canonical id (connectors emit canonical ids). */
export function roomKey(network: string, room: string): string {
  return `${network}\0${room}`;
}

const anchors = NETWORKS.filter((d) => 'anchor' in d && d.anchor);
const others = NETWORKS.filter((d) => !('anchor' in d && d.anchor));
const orList = (ids: string[]) => (ids.length <= 1 ? ids.join('') : `${ids.slice(0, -1).join(', ')} or ${ids[ids.length - 1]}`);

const sides = Object.fromEntries(NETWORKS.map((d) => [d.id, d.rooms.side.optional()])) as Record<string, z.ZodOptional<z.ZodType<SideRoom[]>>>;

const rawLink = z
  .object({
    name: z.string().min(1).optional(),
    ...sides,
    /** Every room of the link except its anchor (QQ) side only receives, unless a room says otherwise. */
    readOnly: z.boolean().default(false),
  })
  .strict()
  .superRefine((v, ctx) => {
    const has = (id: string) => (v as Record<string, unknown>)[id] !== undefined;
    const missing = anchors.filter((d) => !has(d.id));
    if (missing.length > 0 || !others.some((d) => has(d.id))) {
      const needs = anchors.map((d) => `its ${d.displayName} side and `).join('');
      ctx.addIssue({ code: 'custom', message: `a link needs ${needs}at least one other room (${orList(others.map((d) => d.id))})` });
    }
  });

type RawLink = z.output<typeof rawLink>;

/** What a codec's side schema outputs; anything else is a side that failed validation. */
function isSideList(v: unknown): v is SideRoom[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'object' && s !== null && typeof (s as SideRoom).room === 'string' && Array.isArray((s as SideRoom).at));
}

/** Every room of a raw link with its path inside the link, for error positions. */
function roomsOf(link: RawLink): Array<LinkRoom & { at: (string | number)[]; written: string }> {
  const out: Array<LinkRoom & { at: (string | number)[]; written: string }> = [];
  for (const d of NETWORKS) {
    const side = (link as Record<string, unknown>)[d.id];
    // A side that failed its own schema is left untransformed (zod still runs the list's checks):
    // its own issue is reported, and it has no rooms to compare here.
    if (!isSideList(side)) continue;
    // The anchor side is where messages come from: the link-level readOnly does not silence it.
    const linkReadOnly = 'anchor' in d && d.anchor ? false : link.readOnly;
    for (const s of side) out.push({ network: d.id, room: s.room, readOnly: s.readOnly ?? linkReadOnly, at: [d.id, ...s.at], written: s.written ?? s.room });
  }
  return out;
}

function normalise(link: RawLink): MappingLink {
  const rooms = roomsOf(link).map(({ network, room, readOnly }) => ({ network, room, readOnly }));
  return link.name ? { name: link.name, rooms } : { rooms };
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
          message: `${r.network} room ${JSON.stringify(r.written)} is already mapped ${where}; a room may belong to one link only`,
        });
      }
    });
  })
  .transform((links) => links.map(normalise));

export type MappingsConfig = z.output<typeof mappingsConfigSchema>;
