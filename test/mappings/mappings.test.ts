import { describe, expect, it } from 'vitest';
import { mappingsConfigSchema, type MappingLink } from '../../src/mappings/config.js';
import { MappingRouteTable } from '../../src/mappings/routes.js';

const parse = (v: unknown): MappingLink[] => mappingsConfigSchema.parse(v);
const issues = (v: unknown) => {
  const r = mappingsConfigSchema.safeParse(v);
  expect(r.success).toBe(false);
  return r.error!.issues;
};

describe('mappings config', () => {
  it('normalises a 4-way link with QQ rooms named by stable number', () => {
    const [link] = parse([
      { name: 'main', qq: { group: 346167134 }, irc: '#chan', matrix: ['!a:hs.org', '#alias:hs.org'], telegram: -1001234567890 },
    ]);
    expect(link).toEqual({
      name: 'main',
      rooms: [
        { network: 'qq', room: 'group:346167134', readOnly: false },
        { network: 'irc', room: '#chan', readOnly: false },
        { network: 'matrix', room: '!a:hs.org', readOnly: false },
        { network: 'matrix', room: '#alias:hs.org', readOnly: false },
        { network: 'telegram', room: '-1001234567890', readOnly: false },
      ],
    });
  });

  it('applies link-level readOnly to non-QQ rooms, per-room form overriding it', () => {
    const [link] = parse([
      { qq: { discussion: 'good day' }, readOnly: true, irc: ['#a', { room: '#b', readOnly: false }] },
    ]);
    expect(link!.rooms).toEqual([
      { network: 'qq', room: 'discussion:good day', readOnly: false },
      { network: 'irc', room: '#a', readOnly: true },
      { network: 'irc', room: '#b', readOnly: false },
    ]);
  });

  it('rejects a room in two links, IRC channels compared case-insensitively', () => {
    const found = issues([
      { name: 'one', qq: { group: 1 }, irc: '#Chan' },
      { qq: { group: 2 }, irc: ['#other', '#chan'] },
      { qq: { group: 1 }, telegram: 5 },
    ]);
    expect(found.map((i) => [i.path, i.message])).toEqual([
      [[1, 'irc', 1], 'irc room "#chan" is already mapped in link 1 ("one"); a room may belong to one link only'],
      [[2, 'qq'], 'qq room "group:1" is already mapped in link 1 ("one"); a room may belong to one link only'],
    ]);
  });

  it('rejects a link with only its QQ side, a QQ side naming both or neither, and bad room ids', () => {
    expect(issues([{ qq: { group: 1 } }])[0]!.message).toMatch(/at least one other room/);
    expect(issues([{ qq: { group: 1, discussion: 'x' }, irc: '#a' }])[0]!.path).toEqual([0, 'qq']);
    expect(issues([{ qq: {}, irc: '#a' }])[0]!.message).toMatch(/exactly one of/);
    expect(issues([{ qq: { group: 1 }, irc: 'chan' }])[0]!.path).toEqual([0, 'irc']);
    expect(issues([{ qq: { group: 1 }, irc: '#a', telgram: 5 }])[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['telgram'] });
  });
});

describe('MappingRouteTable', () => {
  const links = parse([
    { name: 'main', qq: { group: 100 }, irc: '#main', matrix: '!m:hs', telegram: -42 },
    { qq: { discussion: 'news' }, irc: { room: '#news', readOnly: true }, telegram: -7 },
    { qq: { group: 200 }, readOnly: true, irc: '#announce' },
  ]);

  it('sends a message to every other room of its link', () => {
    const t = new MappingRouteTable(links);
    expect(t.targetsFor({ network: 'qq', room: 'group:100' })).toEqual([
      { network: 'irc', room: '#main', flags: { readOnly: false } },
      { network: 'matrix', room: '!m:hs', flags: { readOnly: false } },
      { network: 'telegram', room: '-42', flags: { readOnly: false } },
    ]);
    expect(t.targetsFor({ network: 'irc', room: '#MAIN' }).map((r) => r.room)).toEqual(['group:100', '!m:hs', '-42']);
    expect(t.targetsFor({ network: 'irc', room: '#unmapped' })).toEqual([]);
    expect(t.targetsFor({ network: 'matrix', room: '#main' })).toEqual([]); // same name, other network
  });

  it('honours read-only rooms: they receive but nothing they say flows anywhere', () => {
    const t = new MappingRouteTable(links);
    expect(t.targetsFor({ network: 'irc', room: '#news' })).toEqual([]);
    expect(t.targetsFor({ network: 'telegram', room: '-7' }).map((r) => r.room)).toEqual(['discussion:news', '#news']);
    expect(t.targetsFor({ network: 'qq', room: 'discussion:news' }).map((r) => r.room)).toEqual(['#news', '-7']);
    expect(t.targetsFor({ network: 'irc', room: '#announce' })).toEqual([]);
    expect(t.targetsFor({ network: 'qq', room: 'group:200' })).toEqual([{ network: 'irc', room: '#announce', flags: { readOnly: true } }]);
  });

  it('lists the rooms each connector joins and swaps the table on replace', () => {
    const t = new MappingRouteTable(links);
    expect(t.rooms('irc')).toEqual(['#main', '#news', '#announce']);
    expect(t.rooms('qq')).toEqual(['group:100', 'discussion:news', 'group:200']);
    expect(t.rooms('matrix')).toEqual(['!m:hs']);
    t.replace(parse([{ qq: { group: 300 }, irc: '#new' }]));
    expect(t.rooms('irc')).toEqual(['#new']);
    expect(t.targetsFor({ network: 'irc', room: '#main' })).toEqual([]);
    expect(t.targetsFor({ network: 'irc', room: '#new' })).toEqual([{ network: 'qq', room: 'group:300', flags: { readOnly: false } }]);
  });
});
