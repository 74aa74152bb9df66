/**
 * The network registry: every definition is complete, and its room codec agrees with itself, so
 * config validation, the route table and the connector all understand a room the same way.
 */
import { describe, expect, it } from 'vitest';
import { canonicalRoom, displayNetwork, displayRoom, network, networks, NETWORKS } from '../../src/connectors/registry.js';

/** Per network: rooms in canonical form, how the config writes one, and strings that are no room. */
const SAMPLES: Record<string, { canonical: string[]; written: Array<[config: unknown, room: string]>; bad: string[] }> = {
  qq: {
    canonical: ['group:346167134', 'discussion:good day'],
    written: [[{ group: 346167134 }, 'group:346167134'], [{ discussion: 'good day' }, 'discussion:good day']],
    bad: ['346167134', 'group:abc', 'group:', 'channel:1'],
  },
  irc: {
    canonical: ['#qq', '#foo[]\\~', '#foo{}|^', '&local'],
    written: [['#QQ', '#qq'], ['#Foo[]\\~', '#foo[]\\~'], ['#ÄBC', '#Äbc']],
    bad: ['qq', '#a:b', '#a b', '#a,b', '#'],
  },
  matrix: {
    canonical: ['!abc:hs.org', '#alias:hs.org'],
    written: [['!abc:hs.org', '!abc:hs.org']],
    bad: ['!abc', 'abc:hs.org', '#alias'],
  },
  telegram: {
    canonical: ['-1001234567890', '42', '@channel'],
    written: [[-1001234567890, '-1001234567890'], ['@channel', '@channel']],
    bad: ['chat', '@ab', '-12x'],
  },
};

describe('network registry', () => {
  it('lists each network once, with a display name, a config schema and a room codec', () => {
    const ids = NETWORKS.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(networks().map((d) => d.id)).toEqual(ids);
    for (const d of networks()) {
      expect(d.id).toMatch(/^[a-z][a-z0-9_-]*$/);
      expect(d.displayName.trim()).not.toBe('');
      expect(displayNetwork(d.id)).toBe(d.displayName);
      expect(network(d.id)).toBe(d);
      expect(typeof d.configSchema.safeParse).toBe('function');
      expect(typeof d.load).toBe('function');
      // A new network brings its room samples here.
      expect(SAMPLES[d.id], `room samples for ${d.id}`).toBeDefined();
    }
    expect(network('nope')).toBeUndefined();
    expect(displayNetwork('nope')).toBe('nope');
    expect(displayNetwork('<script>')).toBe('the network');
  });

  it('exactly the QQ network is required and the anchor of every link', () => {
    expect(networks().filter((d) => d.required).map((d) => d.id)).toEqual(['qq']);
    expect(networks().filter((d) => d.anchor).map((d) => d.id)).toEqual(['qq']);
  });

  describe.each(NETWORKS.map((d) => [d.id] as const))('%s room codec', (id) => {
    const codec = network(id)!.rooms;
    const samples = SAMPLES[id]!;

    it('accepts its canonical rooms, keeps them as they are and shows them', () => {
      for (const room of samples.canonical) {
        expect(codec.validate(room), room).toBeUndefined();
        expect(codec.canonical(room)).toBe(room);
        expect(canonicalRoom(id, room)).toBe(room);
        expect(codec.display(room).length).toBeGreaterThan(0);
        expect(displayRoom({ network: id, room })).toBe(codec.display(room));
      }
    });

    it('reads the config spelling into the canonical room, which is a fixed point', () => {
      for (const [config, room] of samples.written) {
        const side = codec.side.parse(config);
        expect(side.map((s) => s.room)).toEqual([room]);
        expect(codec.canonical(room)).toBe(room);
        expect(codec.validate(room)).toBeUndefined();
        // A list of rooms is the usual shape; QQ names exactly one room per link.
        if (id !== 'qq') expect(codec.side.parse([config, config]).map((s) => s.room)).toEqual([room, room]);
      }
    });

    it('rejects strings that are no room, saying why', () => {
      for (const room of samples.bad) {
        expect(codec.validate(room), room).toMatch(/\w/);
        if (id !== 'qq') expect(codec.side.safeParse(room).success, room).toBe(false);
      }
    });
  });
});
