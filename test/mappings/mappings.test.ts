import { describe, expect, it } from 'vitest';
import { mappingsConfigSchema, type MappingLink } from '../../src/mappings/config.js';
import { MappingRouteTable } from '../../src/mappings/routes.js';
import { bindLinks, retryUnbound, sessionKey } from '../../src/mappings/binding.js';

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
      qq: { kind: 'group', number: 346167134 },
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

describe('QQ binding', () => {
  const links = parse([
    { qq: { group: 100 }, irc: '#a' },
    { qq: { group: 999 }, irc: '#b' },
    { qq: { discussion: 'good day' }, irc: '#c' },
    { qq: { discussion: 'twins' }, irc: '#d' },
    { qq: { discussion: 'gone' }, irc: '#e' },
  ]);
  links[1]!.source = 'config.yaml:14:5';

  it('binds groups by number and discussions by name, and reports the rest clearly', () => {
    const report = bindLinks(links, {
      groups: [{ gid: 3351, number: 100, name: 'Alpha' }, { gid: 3352, name: 'no number yet' }],
      discussions: [{ did: 77, name: 'good day' }, { did: 78, name: 'twins' }, { did: 79, name: 'twins' }],
    });
    expect(report.bound.map((b) => [b.room, b.sessionId])).toEqual([['group:100', '3351'], ['discussion:good day', '77']]);
    expect(report.sessionIds.get('group:100')).toBe('3351');
    expect(report.roomsBySession.get(sessionKey('discussion', 77))).toBe('discussion:good day');
    expect(report.unbound.map((u) => u.reason)).toEqual([
      "QQ group 999 (config.yaml:14:5) is not in this account's group list (2 groups); 1 of its groups have no known number yet, so it may still appear",
      '2 QQ discussions are named "twins"; rename all but one in QQ so the bridge can tell them apart',
      'QQ discussion "gone" is not among this account\'s 3 discussions',
    ]);
  });

  it('retryUnbound retries until nothing is left unbound', async () => {
    let remaining = 3;
    let calls = 0;
    const handle = retryUnbound(() => {
      calls++;
      return --remaining;
    }, { intervalMs: 2, maxIntervalMs: 5 });
    await handle.done;
    expect(calls).toBe(3);
    expect(remaining).toBe(0);
  });

  it('retryUnbound keeps going after a failed attempt and stops on demand', async () => {
    let calls = 0;
    const handle = retryUnbound(async () => {
      calls++;
      if (calls === 1) throw new Error('QQ timed out');
      return 1;
    }, { intervalMs: 1, maxIntervalMs: 2 });
    while (calls < 3) await new Promise((r) => setTimeout(r, 2));
    handle.stop();
    await handle.done;
    const at = calls;
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBe(at);
  });
});
