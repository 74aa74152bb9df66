/**
 * Pictures (§2.11): the custom-face upload on up.web2.qq.com (answers a JS callback page, not
 * JSON) and the group-picture download on web2.qq.com. Injected pictures are stored in
 * `state.images` under the key their download URL names.
 */
import { createHash, randomUUID } from 'node:crypto';
import { PNG } from 'pngjs';
import { checkOrigin, checkReferer, checkUserAgent, intOf, PIC_REFERERS, sessionFromCookies } from './rules.js';
import { route, type Ctx, type Routes } from './server.js';
import type { SimState } from './sessions.js';

/** Buddy custom faces above this are refused with ret 2 (§2.11). */
export const BUDDY_CFACE_MAX = 250 * 1024;
const GROUP_CALLBACK = 'EQQ.Model.ChatMsg.callbackSendPicGroup';
const BUDDY_CALLBACK = 'EQQ.View.ChatBox.uploadCustomFaceCallback';

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** A small multipart/form-data reader (RFC 7578), enough for browser-shaped uploads. */
export function parseMultipart(body: Buffer, contentType: string): MultipartPart[] | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return null;
  const delim = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) return null;
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return parts;
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') return null;
    pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) return null;
    const head = body.subarray(pos, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headEnd + 4);
    if (next < 0) return null;
    const disp = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1];
    if (name === undefined) return null;
    const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1];
    const ct = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim();
    parts.push({ name, ...(filename !== undefined ? { filename } : {}), ...(ct ? { contentType: ct } : {}), data: body.subarray(headEnd + 4, next) });
    pos = next + 2;
  }
}

/** The upload answer: a page whose script calls the callback named in `f`. */
function callbackPage(f: string, ret: number, msg: string): string {
  return `<head><script type="text/javascript">document.domain='qq.com';parent.${f}({'ret':${ret},'msg':'${msg}'});</script></head><body></body>`;
}

/** The checks both picture uploads make (headers, a multipart POST); answers and returns null on failure. */
function uploadParts(ctx: Ctx, endpoint: string): MultipartPart[] | null {
  const ok = [checkUserAgent(ctx), checkReferer(ctx, PIC_REFERERS), checkOrigin(ctx, ['http://web2.qq.com', 'http://w.qq.com'])].every(Boolean);
  if (!ok) return ctx.send(403, '<html><body><h1>403 Forbidden</h1></body></html>', 'text/html; charset=utf-8'), null;
  if (ctx.method !== 'POST') {
    ctx.violation('method', `${endpoint} is a multipart POST`);
    return ctx.send(405, ''), null;
  }
  const parts = parseMultipart(ctx.body, ctx.header('content-type'));
  if (!parts) {
    ctx.violation('multipart', `${endpoint} body is not multipart/form-data`);
    return ctx.send(400, ''), null;
  }
  return parts;
}

function cfaceUpload(state: SimState) {
  return (ctx: Ctx) => {
    const html = (s: string) => ctx.send(200, s, 'text/html; charset=utf-8');
    const parts = uploadParts(ctx, 'cface_upload');
    if (!parts) return;
    const field = (n: string) => parts.find((p) => p.name === n && p.filename === undefined)?.data.toString('utf8');
    const f = field('f') ?? '';
    const group = f === GROUP_CALLBACK;
    if (!group && f !== BUDDY_CALLBACK) {
      ctx.violation('param:f', `cface_upload f=${f}: expected ${GROUP_CALLBACK} or ${BUDDY_CALLBACK}`);
      return ctx.send(400, '');
    }
    const s = sessionFromCookies(ctx);
    if (!s || s.dead) return html(callbackPage(f, 1, 'not logged in'));
    const file = parts.find((p) => p.name === 'custom_face' && p.filename !== undefined);
    const problems = [
      group && field('from') !== 'control' ? 'from=control' : '',
      field('vfwebqq') !== s.vfwebqq ? 'the current vfwebqq' : '',
      !/^\d+$/.test(field('fileid') ?? '') ? 'fileid=<slot number>' : '',
      !file || !file.data.length ? 'a custom_face file' : '',
    ].filter(Boolean);
    if (problems.length) {
      ctx.violation('upload-fields', `cface_upload needs ${problems.join(', ')}`);
      return html(callbackPage(f, 1, 'param error'));
    }
    const data = file!.data;
    if (!group && data.length > BUDDY_CFACE_MAX) return html(callbackPage(f, 2, 'file too large'));
    const name = `${createHash('md5').update(data).digest('hex').toUpperCase()}.jPg`;
    if (s.uploads.has(name)) return html(callbackPage(f, 4, `${name} -6102 upload cface failed`));
    s.uploads.set(name, data.length);
    state.images.set(`upload:${name}`, { data: Buffer.from(data), mime: file!.contentType ?? 'image/jpeg' });
    html(callbackPage(f, 0, name));
  };
}

function groupPic(state: SimState) {
  return (ctx: Ctx) => {
    const ok = [checkUserAgent(ctx), checkReferer(ctx, PIC_REFERERS)].every(Boolean);
    if (!ok) return ctx.send(403, '403 Forbidden');
    const s = sessionFromCookies(ctx);
    if (!s || s.dead) return ctx.send(403, '403 Forbidden');
    if (ctx.query.get('vfwebqq') !== s.vfwebqq) {
      ctx.violation('vfwebqq', 'get_group_pic with a vfwebqq that is not current');
      return ctx.send(403, '403 Forbidden');
    }
    const fid = intOf(ctx.query.get('fid'));
    const key = `cface:${fid ?? ''}:${ctx.query.get('pic') ?? ''}`;
    const img = state.images.get(key);
    const owner = img && (ctx.query.get('gid') !== null ? intOf(ctx.query.get('gid')) : intOf(ctx.query.get('did')));
    if (!img || owner === null || owner === undefined || img.owner !== `${s.serial}:${owner}`) {
      ctx.violation('unknown-picture', `no group picture fid=${fid ?? ''} for this session/group`);
      return ctx.send(404, '<html><body><h1>404 Not Found</h1></body></html>', 'text/html; charset=utf-8');
    }
    ctx.send(200, img.data, img.mime);
  };
}

/**
 * A 40×40 avatar generated from the QQ number: the same number always gives the same picture, two
 * numbers almost always differ (a colour from the number, a diagonal band from its last digit).
 */
export function avatarPng(qq: number): Buffer {
  const png = new PNG({ width: 40, height: 40 });
  const h = createHash('md5').update(String(qq)).digest();
  const band = qq % 10;
  for (let y = 0; y < 40; y++) {
    for (let x = 0; x < 40; x++) {
      const i = (y * 40 + x) * 4;
      const on = Math.floor((x + y) / 8) % 10 === band;
      png.data[i] = on ? 255 - h[0]! : h[0]!;
      png.data[i + 1] = on ? 255 - h[1]! : h[1]!;
      png.data[i + 2] = on ? 255 - h[2]! : h[2]!;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** The face servers (face1..face10.web.qq.com): a user's (type 1/11) or a group's (type 4/14) avatar by session id. */
function getface() {
  return (ctx: Ctx) => {
    const ok = [checkUserAgent(ctx), checkReferer(ctx, PIC_REFERERS)].every(Boolean);
    if (!ok) return ctx.send(403, '403 Forbidden');
    // web.qq.com hosts see only the .qq.com cookies (the p_* ones live on web2.qq.com).
    const s = sessionFromCookies(ctx, ['uin', 'skey', 'ptwebqq']);
    if (!s || s.dead) return ctx.send(403, '403 Forbidden');
    if (ctx.query.get('vfwebqq') !== s.vfwebqq) {
      ctx.violation('vfwebqq', 'getface with a vfwebqq that is not current');
      return ctx.send(403, '403 Forbidden');
    }
    const type = ctx.query.get('type') ?? '';
    const uin = intOf(ctx.query.get('uin'));
    const user = type === '1' || type === '11';
    if (!user && type !== '4' && type !== '14') {
      ctx.violation('param:type', `getface type=${type}: 1/11 for a user, 4/14 for a group`);
      return ctx.send(400, '');
    }
    const qq = uin === null ? undefined : user ? (uin === s.qq ? s.qq : s.ids.qqOfUin(uin)) : s.ids.groupByGid(uin);
    if (qq === undefined) {
      ctx.violation('unknown-uin', `getface for ${user ? 'user' : 'group'} ${ctx.query.get('uin') ?? ''}, not an id of this session`);
      return ctx.send(404, '<html><body><h1>404 Not Found</h1></body></html>', 'text/html; charset=utf-8');
    }
    ctx.send(200, avatarPng(user ? qq : qq + 1_000_000_000_000), 'image/png');
  };
}

const OFFPIC_CALLBACK = 'parent.EQQ.Model.ChatMsg.callbackSendPic';

/** A buddy offline picture upload (§2.11): the file is kept under a path the send then names. */
function offpicUpload(state: SimState) {
  return (ctx: Ctx) => {
    const parts = uploadParts(ctx, 'upload_offline_pic');
    if (!parts) return;
    const field = (n: string) => parts.find((p) => p.name === n && p.filename === undefined)?.data.toString('utf8');
    const answer = (o: Record<string, unknown>) => ctx.send(200, `<html><head><script type="text/javascript">document.domain='qq.com';${field('callback') ?? OFFPIC_CALLBACK}(${JSON.stringify(o)});</script></head><body></body></html>`, 'text/html; charset=utf-8');
    // ftn.qq.com sees only the .qq.com cookies.
    const s = sessionFromCookies(ctx, ['uin', 'skey', 'ptwebqq']);
    if (!s || s.dead) return answer({ retcode: 100, result: 'not logged in' });
    const file = parts.find((p) => p.name === 'file' && p.filename !== undefined);
    const peer = intOf(field('peeruin'));
    const problems = [
      field('callback') !== OFFPIC_CALLBACK ? `callback=${OFFPIC_CALLBACK}` : '',
      field('appid') !== '1002101' ? 'appid=1002101' : '',
      field('uin') !== String(s.qq) ? 'uin=<own QQ>' : '',
      field('skey') !== s.skey ? 'skey=<the skey cookie>' : '',
      field('vfwebqq') !== s.vfwebqq ? 'the current vfwebqq' : '',
      peer === null || s.ids.qqOfUin(peer) === undefined ? 'peeruin=<a friend uin of this session>' : '',
      !/^\d+$/.test(field('fileid') ?? '') ? 'fileid=<n>' : '',
      !file || !file.data.length ? 'a file' : '',
    ].filter(Boolean);
    if (problems.length) {
      ctx.violation('upload-fields', `upload_offline_pic needs ${problems.join(', ')}`);
      return answer({ retcode: 1, result: 'param error' });
    }
    const filepath = `/${randomUUID()}`;
    s.uploads.set(filepath, file!.data.length);
    state.images.set(`offpic:${filepath}`, { data: Buffer.from(file!.data), mime: file!.contentType ?? 'image/jpeg' });
    answer({ retcode: 0, result: 'OK', progress: 100, filesize: file!.data.length, fileurl: null, filename: file!.filename, filepath });
  };
}

export function registerMedia(state: SimState, routes: Routes): void {
  route(routes, 'weboffline.ftn.qq.com', '/ftn_access/upload_offline_pic', offpicUpload(state));
  route(routes, Array.from({ length: 10 }, (_, i) => `face${i + 1}.web.qq.com`), '/cgi/svr/face/getface', getface());
  route(routes, 'up.web2.qq.com', '/cgi-bin/cface_upload', cfaceUpload(state));
  route(routes, 'web2.qq.com', '/cgi-bin/get_group_pic', groupPic(state));
}
