import { PNG } from 'pngjs';
import jsQR from 'jsqr';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hash33, hashO, hashP, time33 } from '../../src/connectors/qq/webqq/protocol-crypto.js';
import { loadWorld, startSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { Browser, control, D1_REF, FONT, groupList, jsArgs, LOGIN_PAGE_C, loginA, onlineBuddies, poll, S_REF, type Channel } from './browser.js';

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ pollHoldMs: 200 });
});
afterAll(() => sim.close());
beforeEach(() => control(sim, 'DELETE', '/violations'));

const S = 'http://s.web2.qq.com/api';

describe('lists', () => {
  it('friends, groups (hash checked), group info, discussions, uin mapping and self info', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const hash = hashP(ch.qq, b.cookie('ptwebqq')!);
    const fr = await b.post(`${S}/get_user_friends2`, { vfwebqq: ch.vfwebqq, hash }, S_REF);
    expect(fr.retcode).toBe(0);
    expect(fr.result.info).toEqual([expect.objectContaining({ nick: '呼吸 (糗百)' })]);
    const friendUin = fr.result.friends[0].uin;
    expect(friendUin).not.toBe(2440652742);
    const bad = await b.post(`${S}/get_user_friends2`, { vfwebqq: ch.vfwebqq, hash: 'ABCDEF0123456789' }, S_REF);
    expect(bad.retcode).toBe(50);
    expect((await control(sim, 'GET', '/violations')).map((v: any) => v.rule)).toEqual(['hash']);

    const gl = await groupList(b, ch);
    const g = gl.result.gnamelist[0];
    expect(g).toMatchObject({ name: 'qqbot群', flag: 1090519041 });
    const info = await b.json(`${S}/get_group_info_ext2?gcode=${g.code}&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF });
    expect(info.result.ginfo).toMatchObject({ gid: g.gid, code: g.code, name: 'qqbot群' });
    expect(info.result.minfo.map((m: any) => m.nick).sort()).toEqual(['qqbot', 'robot', 'robot ops', '呼吸 (糗百)'].sort());
    expect(info.result.stats).toHaveLength(4);
    expect((await b.json(`${S}/get_group_info_ext2?gcode=${g.gid}&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF })).retcode).toBe(6);

    const mapped = await b.json(`${S}/get_friend_uin2?tuin=${g.gid}&type=4&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF });
    expect(mapped).toEqual({ retcode: 0, result: { uiuin: '', account: 346167134, uin: g.gid } });
    const user = await b.json(`${S}/get_friend_uin2?tuin=${friendUin}&type=1&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF });
    expect(user.result.account).toBe(2440652742);
    expect((await b.json(`${S}/get_friend_uin2?tuin=12345&type=1&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF })).retcode).toBe(100001);

    const dl = await b.json(`${S}/get_discus_list?clientid=${ch.clientid}&psessionid=${ch.psessionid}&vfwebqq=${ch.vfwebqq}&t=1`, { referer: S_REF });
    const did = dl.result.dnamelist[0].did;
    expect(dl.result.dnamelist[0].name).toBe('good day');
    const di = await b.json(`http://d.web2.qq.com/channel/get_discu_info?did=${did}&vfwebqq=${ch.vfwebqq}&clientid=${ch.clientid}&psessionid=${ch.psessionid}&t=1`, { referer: ch.referer });
    expect(di.result.info.mem_list.map((m: any) => m.ruin).sort()).toEqual([21984709, 123774072, 2769546520].sort());

    const self = await b.json(`${S}/get_self_info2?t=1`, { referer: S_REF });
    expect(self.result).toMatchObject({ account: 2769546520, uin: 2769546520, nick: 'qqbot' });
  });

  it('answers 50 unless the hash is of the configured version', async () => {
    const other = await startSimulator({ hashVersion: 'O' });
    try {
      const b = new Browser(other);
      const ch = await loginA(b);
      expect((await groupList(b, ch)).retcode).toBe(50);
      expect((await groupList(b, ch, hashO(ch.qq, b.cookie('ptwebqq')!))).retcode).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('QR login (Era C)', () => {
  async function showQr(b: Browser): Promise<string> {
    await b.req(LOGIN_PAGE_C, { referer: 'http://w.qq.com/' });
    const img = await b.req('https://ssl.ptlogin2.qq.com/ptqrshow?appid=501004106&e=0&l=M&s=5&d=72&v=4&t=0.1', { referer: LOGIN_PAGE_C });
    expect(img.headers['content-type']).toBe('image/png');
    const png = PNG.sync.read(img.body);
    const decoded = (jsQR as unknown as typeof jsQR.default)(new Uint8ClampedArray(png.data), png.width, png.height);
    const qrsig = b.cookie('qrsig')!;
    expect(decoded?.data).toContain(qrsig);
    return qrsig;
  }
  const qrlogin = (b: Browser, token: string | null) =>
    b.req(
      `https://ssl.ptlogin2.qq.com/ptqrlogin?${token === null ? '' : `ptqrtoken=${token}&`}webqq_type=10&remember_uin=1&login2qq=1&aid=501004106&u1=http%3A%2F%2Fw.qq.com%2Fproxy.html%3Flogin2qq%3D1%26webqq_type%3D10&ptredirect=0&ptlang=2052&daid=164&from_ui=1&pttype=1&dumy=&fp=loginerroralert&action=0-0-1000&mibao_css=m_webqq&t=undefined&g=1&js_type=0&js_ver=10141&login_sig=&pt_randsalt=0`,
      { referer: LOGIN_PAGE_C },
    );

  it('403 without ptqrtoken; 66 → 67 → 0; then getvfwebqq + login2 on d1 with 53999199', async () => {
    const b = new Browser(sim);
    const qrsig = await showQr(b);
    expect((await qrlogin(b, null)).status).toBe(403);
    expect((await qrlogin(b, '123')).status).toBe(403);
    expect((await control(sim, 'GET', '/violations')).map((v: any) => v.rule)).toEqual(['ptqrtoken', 'ptqrtoken']);
    const token = String(hash33(qrsig));
    expect(jsArgs((await qrlogin(b, token)).text)[0]).toBe('66');
    await control(sim, 'POST', '/qr/scan');
    expect(jsArgs((await qrlogin(b, token)).text)[0]).toBe('67');
    await control(sim, 'POST', '/qr/confirm', { qq: 2769546520 });
    const ok = jsArgs((await qrlogin(b, token)).text);
    expect(ok[0]).toBe('0');
    expect(b.cookie('supertoken')).toBeTruthy();
    expect((await b.req(ok[2]!)).headers.location).toBe('http://w.qq.com/proxy.html?login2qq=1&webqq_type=10');

    const ptwebqq = b.cookie('ptwebqq')!;
    const vf = await b.json(`${S}/getvfwebqq?ptwebqq=${ptwebqq}&clientid=53999199&psessionid=&t=1`, { referer: S_REF });
    expect(vf.result.vfwebqq).toMatch(/^[0-9a-f]{80}$/);
    const l2 = await b.post('http://d1.web2.qq.com/channel/login2', { ptwebqq, clientid: 53999199, psessionid: '', status: 'online' }, D1_REF);
    expect(l2.retcode).toBe(0);
    const ch: Channel = { qq: 2769546520, clientid: 53999199, psessionid: l2.result.psessionid, vfwebqq: vf.result.vfwebqq, host: 'd1.web2.qq.com', referer: D1_REF };
    // the vfwebqq in SmartQQ's login2 answer is stale
    expect((await groupList(b, { ...ch, vfwebqq: l2.result.vfwebqq })).retcode).toBe(100000);
    expect((await onlineBuddies(b, ch)).retcode).toBe(0);
    await control(sim, 'POST', '/inject', { group: 346167134, from: 2440652742, text: 'smart' });
    const ev = (await poll(b, ch)).result[0];
    expect(Object.keys(ev.value).sort()).toEqual(['content', 'from_uin', 'group_code', 'msg_id', 'msg_type', 'send_uin', 'time', 'to_uin']);
    expect(ev.value.group_code).toBe(ev.value.from_uin);

    // silent relogin with time33(supertoken)
    const auth = await b.req(`https://ssl.ptlogin2.qq.com/pt4_auth?daid=164&appid=501004106&auth_token=${time33(b.cookie('supertoken')!)}`, { referer: LOGIN_PAGE_C });
    const [code, url] = jsArgs(auth.text);
    expect(code).toBe('0');
    expect(url).toMatch(/^http:\/\/ptlogin4\.web2\.qq\.com\/check_sig\?/);
  });

  it('expires after qrLifetimeMs (65)', async () => {
    const short = await startSimulator({ qrLifetimeMs: 200 });
    try {
      const b = new Browser(short);
      const qrsig = await showQr(b);
      await new Promise((r) => setTimeout(r, 250));
      expect(jsArgs((await qrlogin(b, String(hash33(qrsig)))).text)[0]).toBe('65');
    } finally {
      await short.close();
    }
  });
});

describe('pictures', () => {
  it('uploads a custom face (ret 0, then 4), sends it with key/sig, and serves injected group pictures', async () => {
    const b = new Browser(sim);
    const ch = await loginA(b);
    const pic = Buffer.from('\xff\xd8\xff\xe0fake-jpeg-body', 'latin1');
    const upload = () => {
      const boundary = '----WebKitFormBoundaryabc';
      const field = (n: string, v: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n${v}\r\n`;
      const body = Buffer.concat([
        Buffer.from(field('from', 'control') + field('f', 'EQQ.Model.ChatMsg.callbackSendPicGroup') + field('vfwebqq', ch.vfwebqq) + field('fileid', '1')),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="custom_face"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
        pic,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      return b.req('http://up.web2.qq.com/cgi-bin/cface_upload?time=1', { body, referer: 'http://web2.qq.com/webqq.html', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    };
    const first = (await upload()).text;
    const name = /\{'ret':0,'msg':'([0-9A-F]{32}\.jPg)'\}/.exec(first)?.[1];
    expect(name).toBeTruthy();
    expect((await upload()).text).toContain(`{'ret':4,'msg':'${name} -6102 upload cface failed'}`);

    const gl = await groupList(b, ch);
    const g = gl.result.gnamelist[0];
    const content = JSON.stringify([['cface', 'group', name], FONT]);
    const base = { group_uin: g.gid, content, face: 0, clientid: ch.clientid, psessionid: ch.psessionid };
    expect((await b.post('http://d.web2.qq.com/channel/send_qun_msg2', { ...base, msg_id: 1 }, ch.referer)).retcode).not.toBe(0);
    const sig = await b.json(`http://d.web2.qq.com/channel/get_gface_sig2?clientid=${ch.clientid}&psessionid=${ch.psessionid}&t=1`, { referer: ch.referer });
    const withSig = { ...base, msg_id: 2, group_code: g.code, key: sig.result.gface_key, sig: sig.result.gface_sig };
    expect((await b.post('http://d.web2.qq.com/channel/send_qun_msg2', withSig, ch.referer)).retcode).toBe(0);
    expect((await control(sim, 'GET', '/sent'))[0].images).toEqual([name]);

    const png = Buffer.from('89504e470d0a1a0a0000', 'hex');
    await control(sim, 'POST', '/inject', { group: 346167134, from: 2440652742, image: { data: png.toString('base64'), mime: 'image/png' } });
    const ev = (await poll(b, ch)).result[0].value;
    const cface = ev.content[1][1];
    const dl = await b.req(
      `http://web2.qq.com/cgi-bin/get_group_pic?type=0&gid=${g.code}&uin=${ev.send_uin}&rip=1.2.3.4&rport=8000&fid=${cface.file_id}&pic=${encodeURIComponent(cface.name)}&vfwebqq=${ch.vfwebqq}&t=1`,
      { referer: 'http://web2.qq.com/webqq.html' },
    );
    expect(dl.headers['content-type']).toBe('image/png');
    expect(dl.body.equals(png)).toBe(true);
  });
});

describe('world files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qqsim-world-'));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  it('loads a valid YAML world', () => {
    const w = loadWorld(write('ok.yaml', 'accounts:\n  - { qq: 10001, password: pw, nick: bot }\nusers:\n  - { qq: 10002, nick: alice }\nfriends: { "10001": [10002] }\ngroups:\n  - { number: 50000, name: g, owner: 10002, members: [{ qq: 10001 }, { qq: 10002, card: A }] }\n'));
    expect(w.groups[0]!.members[1]!.card).toBe('A');
  });
  it('names the file and line of a YAML syntax error', () => {
    expect(() => loadWorld(write('bad.yaml', 'accounts:\n  - qq: 1\n   nick: [\n'))).toThrow(/bad\.yaml:\d+:\d+: invalid YAML/);
  });
  it('names the key of a shape error and of a dangling reference', () => {
    expect(() => loadWorld(write('shape.json', '{"accounts":[{"qq":"x","password":"p","nick":"n"}]}'))).toThrow(/shape\.json: invalid world:\n {2}accounts\.0\.qq/);
    expect(() => loadWorld(write('ref.yaml', 'accounts:\n  - { qq: 10001, password: pw, nick: bot }\ngroups:\n  - { number: 50000, name: g, owner: 10001, members: [{ qq: 99999 }] }\n'))).toThrow(/groups\.0\.members\.0\.qq: QQ 99999 is neither an account nor a user/);
  });
  it('refuses a missing file clearly', () => {
    expect(() => loadWorld(join(dir, 'none.yaml'))).toThrow(/none\.yaml: cannot read world file/);
  });
});
