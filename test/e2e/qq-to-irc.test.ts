/**
 * What an IRC user sees when people talk in the bridged QQ group: real ngircd, the WebQQ
 * simulator and the bridge, the IRC side observed through a raw client socket.
 */
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIrcClient } from '../support/ngircd.js';
import type { QqConnector } from '../../src/connectors/qq/connector.js';
import { defaultWorld } from '../../src/simulator/index.js';
import { avatarPng } from '../../src/simulator/media.js';
import { BOT_NICK, GROUP, HUMAN_NICK, plain, startHarness, waitForBotInChannel, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A distinct PNG per call (the colour varies), so its sha256 names only this picture. */
function png(seed: number): Buffer {
  const img = new PNG({ width: 16, height: 16 });
  for (let i = 0; i < img.data.length; i += 4) {
    img.data[i] = seed & 0xff;
    img.data[i + 1] = (i / 4) & 0xff;
    img.data[i + 2] = 0x80;
    img.data[i + 3] = 0xff;
  }
  return PNG.sync.write(img);
}

const words = (prefix: string, bytes: number): string => {
  const out: string[] = [];
  for (let i = 0; out.join(' ').length < bytes; i++) out.push(`${prefix}${String(i).padStart(4, '0')}`);
  return out.join(' ').slice(0, bytes).trim();
};

/** The bytes a line takes on the wire as the server relays it to the human, CRLF included. */
const wireBytes = (raw: string) => Buffer.byteLength(raw, 'utf8') + 2;

describe('QQ -> IRC', () => {
  it('a QQ text arrives as [nick] text, the nick de-pinged with a zero-width space', async () => {
    await h.qq.say('hello from QQ');
    const line = await h.irc.waitForText((t) => t.includes('hello from QQ'));
    const raw = line.params[1]!;
    expect(plain(raw)).toBe('[robot] hello from QQ');
    expect(raw).toContain('r\u200bobot');
    // Nobody called "robot" on IRC is highlighted: the bare nick never appears.
    expect(raw.replace(/[\x02\x03\x0f\x1d\x1f]|\x03\d\d/g, '')).not.toMatch(/\brobot\b/);
  });

  it('a bold red QQ font becomes IRC bold + colour codes around the text', async () => {
    await h.qq.inject({ content: [['font', { color: 'ff0000', name: '宋体', size: 10, style: [1, 0, 0] }], 'loud words'] });
    const line = await h.irc.waitForText((t) => t.includes('loud words'));
    // \x02 bold, \x0304 = mIRC red, closed with \x0F.
    expect(line.params[1]).toContain('\x02\x0304loud words\x0f');
  });

  it('QQ faces arrive as emoji', async () => {
    await h.qq.inject({ text: 'faces:', faces: [14, 13] });
    const line = await h.irc.waitForText((t) => t.startsWith('[robot] faces:'));
    expect(plain(line.params[1]!)).toBe('[robot] faces:🙂😁');
  });

  it('a QQ group picture arrives as a media link serving the same PNG bytes', async () => {
    const data = png(7);
    await h.qq.inject({ text: 'look:', image: { name: 'pic.png', mime: 'image/png', data: data.toString('base64') } });
    const line = await h.irc.waitForText((t) => t.includes('[image]'));
    const m = /\[image\] (http:\/\/127\.0\.0\.1:(\d+)\/media\/([0-9a-f]{64})\.png)/.exec(plain(line.params[1]!));
    expect(m, plain(line.params[1]!)).not.toBeNull();
    expect(Number(m![2])).toBe(h.mediaPort);
    expect(m![3]).toBe(createHash('sha256').update(data).digest('hex'));
    const res = await fetch(m![1]!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });

  it('a 1500-byte QQ text arrives whole, on several lines that each fit in 512 bytes', async () => {
    const text = words('m', 1500);
    await h.qq.say(text);
    const last = text.split(' ').at(-1)!;
    await h.irc.waitForText((t) => t.endsWith(` ${last}`));
    const lines = h.irc.fromBridge().filter((l) => /^\[robot\] m\d{4}/.test(plain(l.params[1]!)));
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(wireBytes(l.raw)).toBeLessThanOrEqual(512);
    expect(lines.map((l) => plain(l.params[1]!).slice('[robot] '.length)).join(' ')).toBe(text);
  });

  it('a 3000-byte QQ text stops at maxLines with a link to the full text', async () => {
    const text = words('x', 3000);
    await h.qq.say(text);
    const pointer = await h.irc.waitForText((t) => t.startsWith('[robot] … full message: '));
    const lines = h.irc.fromBridge().filter((l) => /^\[robot\] (x\d{4}|… full message)/.test(plain(l.params[1]!)));
    expect(lines).toHaveLength(5); // maxLines, the pointer included
    for (const l of lines) expect(wireBytes(l.raw)).toBeLessThanOrEqual(512);
    const url = plain(pointer.params[1]!).slice('[robot] … full message: '.length);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const full = await res.text();
    expect(full).toContain(text);
  });

  it('@all and a 50-nick mention flood do not highlight anyone on IRC', async () => {
    const others = ['bob', 'carol', 'dave', 'erin', 'frank', 'grace'];
    const clients = await Promise.all(others.map((n) => TestIrcClient.connect(h.ircd.host, h.ircd.port, n)));
    try {
      for (const c of clients) await c.join(h.channel);
      await h.qq.say('@all meeting now');
      const all = await h.irc.waitForText((t) => t.includes('meeting now'));
      expect(all.params[1]).toContain('@a\u200bll');

      const names = [HUMAN_NICK, ...others, ...Array.from({ length: 43 }, (_, i) => `user${i}`)];
      await h.qq.say(`${names.join(' ')} look here`);
      const flood = await h.irc.waitForText((t) => t.includes('look here'), 10_000);
      const seen = h.irc.fromBridge().filter((l) => l.raw.includes('user1'));
      const text = [flood, ...seen].map((l) => l.params[1]!).join('\n');
      // Every nick present in the channel is broken by a zero-width space: no client highlights.
      for (const n of [HUMAN_NICK, ...others]) expect(text).not.toMatch(new RegExp(`\\b${n}\\b`));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('CR/LF inside a QQ text cannot smuggle IRC commands', async () => {
    await h.human.join('#other');
    h.human.send('MODE #other -n'); // let outsiders talk there, so an injected PRIVMSG would show
    const mark = h.human.lines.length;
    await h.qq.say('first\r\nQUIT :bye\r\nPRIVMSG #other :injected');
    await h.qq.say('second\rPRIVMSG #other :injected2\nJOIN #other');
    await h.qq.say('after the attempt');
    await h.irc.waitForText((t) => t === '[robot] after the attempt');
    const since = h.human.lines.slice(mark);
    expect(since.filter((l) => l.nick === BOT_NICK && l.command !== 'PRIVMSG')).toEqual([]);
    expect(since.filter((l) => l.command === 'PRIVMSG' && l.params[0] === '#other')).toEqual([]);
    // The injected text is shown as text, in the bridged channel only.
    expect(h.irc.texts()).toContain('[robot] QUIT :bye');
    await waitForBotInChannel(h.human, h.channel, 3_000);
  });

  it('the group\'s picture, which only the WebQQ session may fetch, is offered through the media server (a Matrix portal\'s avatar)', async () => {
    const qq = h.bridge.connectors.find((c) => c.network === 'qq') as unknown as QqConnector;
    const info = await qq.roomInfo(`group:${GROUP}`);
    expect(info?.name).toBe(defaultWorld().groups.find((g) => g.number === GROUP)!.name);
    expect(info?.avatarUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${h.mediaPort}/`));
    const res = await fetch(info!.avatarUrl!);
    // The face server's picture of this group (type 4 by its gid), byte for byte.
    expect(Buffer.from(await res.arrayBuffer()).equals(avatarPng(GROUP + 1_000_000_000_000))).toBe(true);
    expect((await h.qq.violations()).filter((v) => /getface/.test(JSON.stringify(v)))).toEqual([]);
  });
});
