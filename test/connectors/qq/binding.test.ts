import { describe, expect, it } from 'vitest';
import { bindLinks, retryUnbound, sessionKey } from '../../../src/connectors/qq/binding.js';
import { mappingsConfigSchema, type MappingLink } from '../../../src/mappings/config.js';

const parse = (v: unknown): MappingLink[] => mappingsConfigSchema.parse(v);

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

describe('QQ binding of links without a QQ room', () => {
  it('leaves a link that names no QQ room alone: neither bound nor reported unbound', () => {
    const link: MappingLink = {
      name: 'matrix and irc only',
      rooms: [
        { network: 'irc', room: '#x', readOnly: false },
        { network: 'matrix', room: '!r:hs', readOnly: false },
      ],
    };
    const report = bindLinks([link, ...parse([{ qq: { group: 5 }, irc: '#y' }])], { groups: [{ gid: 1, number: 5, name: 'g' }], discussions: [] });
    expect(report.bound.map((b) => b.room)).toEqual(['group:5']);
    expect(report.unbound).toEqual([]);
  });
});
