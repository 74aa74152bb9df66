import { describe, expect, it } from 'vitest';
import { mergeLinks } from '../src/bridge.js';
import type { MappingLink } from '../src/mappings/config.js';

const link = (n: number, ...rooms: Array<[string, string]>): MappingLink => ({
  rooms: [{ network: 'qq', room: `group:${n}`, readOnly: false }, ...rooms.map(([network, room]) => ({ network: network as 'irc', room, readOnly: false }))],
});

describe('runtime links joining the configured ones', () => {
  it('adds a Matrix room made at runtime to the configured link of the same QQ group', () => {
    const merged = mergeLinks([link(1, ['irc', '#a'])], [link(1, ['matrix', '!m:hs'])]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.rooms.map((r) => r.room)).toEqual(['group:1', '#a', '!m:hs']);
  });

  it('keeps a runtime link of another group, and never lets it take a configured room', () => {
    const merged = mergeLinks([link(1, ['matrix', '!m:hs'])], [link(2, ['matrix', '!m:hs']), link(3, ['matrix', '!n:hs'])]);
    expect(merged.map((l) => l.rooms.map((r) => r.room))).toEqual([['group:1', '!m:hs'], ['group:3', '!n:hs']]);
  });
});
