/**
 * QQ private chats through an admin room (issue 14 item 4): a link `qq: { private: true }` gives
 * the account's one-to-one chats to an IRC channel. A group member's temporary-session message
 * and a buddy's message arrive there with the QQ number to answer; "<QQ number>: text" in the
 * channel goes back through get_c2cmsg_sig2 + send_sess_msg2 (the member) or as a buddy message
 * (the friend). Real ngircd, the WebQQ simulator over HTTP, the bridge in process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelView, GROUP, MEMBERS, startHarness, waitForBotInChannel, waitUntil, type Harness } from './harness.js';

const ADMIN = '#qq-private';
let h: Harness;
let admin: ChannelView;

beforeAll(async () => {
  h = await startHarness({ extraYaml: { link: ['  - qq: { private: true }', `    irc: ${JSON.stringify(ADMIN)}`] } });
  await h.human.join(ADMIN);
  await waitForBotInChannel(h.human, ADMIN);
  admin = new ChannelView(h.human, ADMIN);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const FONT = ['font', { name: '宋体', size: 10, style: [0, 0, 0], color: '000000' }];

describe('QQ private chats in an admin room', () => {
  it('a group member\'s temporary-session message arrives with their number, and the answer goes back through the session', async () => {
    await h.qq.call('POST', '/event', {
      poll_type: 'sess_message',
      value: {
        msg_id: 7001, from_uin: { $uin: MEMBERS.robot }, to_uin: 2769546520, msg_type: 140, time: Math.floor(Date.now() / 1000),
        id: { $gid: GROUP }, ruin: MEMBERS.robot, service_type: 0, flags: { text: 1, pic: 1, file: 1, audio: 1, video: 1 },
        content: [FONT, 'can the bridge hear me privately?'],
      },
    });
    const line = await admin.waitForText((t) => t.includes('can the bridge hear me privately?'));
    expect(line.params[1]).toBeDefined();
    // WebQQ names a temporary-session sender only by number (not a friend, member lists hold session ids).
    expect(admin.texts().at(-1)).toBe(`[${MEMBERS.robot}] can the bridge hear me privately?`);

    h.human.say(ADMIN, `${MEMBERS.robot}: yes, loud and clear`);
    const sent = await waitUntil('the answer in QQ', async () => {
      const s = (await h.qq.sent()).filter((x) => (x as { endpoint?: string }).endpoint === 'send_sess_msg2');
      return s.length > 0 ? s : undefined;
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ sess: MEMBERS.robot, group: GROUP });
    expect(sent[0]!.text).toBe('[alice] yes, loud and clear');
    expect(await h.qq.violations()).toEqual([]);
  });

  it('a buddy\'s message arrives the same way and is answered as a buddy message', async () => {
    await h.qq.call('POST', '/inject', { buddy: MEMBERS.huxi, text: 'hi bot, it is your friend' });
    await admin.waitForText((t) => t.includes('hi bot, it is your friend'));
    expect(admin.texts().at(-1)).toContain(`(${MEMBERS.huxi})] hi bot, it is your friend`);
    h.human.say(ADMIN, `${MEMBERS.huxi}, hello friend`);
    const sent = await waitUntil('the buddy answer in QQ', async () => {
      const s = (await h.qq.sent()).filter((x) => (x as { buddy?: number }).buddy === MEMBERS.huxi);
      return s.length > 0 ? s : undefined;
    });
    expect(sent[0]!.text).toBe('[alice] hello friend');
    expect(await h.qq.violations()).toEqual([]);
  });

  it('a line that names nobody is not sent anywhere in QQ, and the group link is untouched', async () => {
    const before = (await h.qq.sent()).length;
    h.human.say(ADMIN, 'who gets this?');
    // The group link still relays while the admin room's line is refused.
    await h.qq.say('group still works');
    await h.irc.waitForText((t) => t.includes('group still works'));
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.qq.sent()).length).toBe(before);
  });
});

describe('without a private link', () => {
  it('a buddy\'s message is relayed nowhere: not into the group\'s channel, not into the media store', async () => {
    const plain = await startHarness();
    try {
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      await plain.qq.call('POST', '/inject', { buddy: MEMBERS.huxi, text: 'only for the bot', image: { name: 'p.png', mime: 'image/png', data: png.toString('base64') } });
      await plain.qq.say('after the private one');
      await plain.irc.waitForText((t) => t.includes('after the private one'));
      expect(plain.irc.texts().some((t) => t.includes('only for the bot'))).toBe(false);
      const media = await fetch(`http://127.0.0.1:${plain.mediaPort}/media/${(await import('node:crypto')).createHash('sha256').update(png).digest('hex')}.png`);
      expect(media.status).toBe(404);
    } finally {
      await plain.close();
    }
  }, 60_000);
});
