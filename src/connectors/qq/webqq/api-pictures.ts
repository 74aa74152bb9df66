/**
 * The WebQQ picture endpoints (uploads for sending, avatars and received pictures, §2.11): they
 * speak multipart and raw image bytes rather than the JSON envelope, so they live apart from api.ts.
 */
import type { HttpResponse } from './transport.js';
import { ProtocolError, RetcodeError } from './errors.js';
import { channelUrl } from './hosts.js';
import { asObject, baseOpts, optNum, sessionQuery, str, type ApiContext, type Json } from './api-base.js';

export const CFACE_UPLOAD_URL = 'http://up.web2.qq.com/cgi-bin/cface_upload';

export const OFFPIC_UPLOAD_URL = 'http://weboffline.ftn.qq.com/ftn_access/upload_offline_pic';

/** A buddy offline picture (§2.11): uploaded for one peer; the send names its file path. */
export async function offpicUpload(
  ctx: ApiContext,
  data: Buffer,
  fileName: string,
  mime: string,
  peerUin: number,
  opts: { slot?: number } = {},
): Promise<{ filePath: string; fileName: string; fileSize: number }> {
  const ep = 'upload_offline_pic';
  const skey = ctx.transport.cookie('skey', OFFPIC_UPLOAD_URL);
  if (!skey) throw new ProtocolError(ep, 'no skey cookie for the offline picture upload', '');
  const form = new FormData();
  const fields: Record<string, string> = {
    callback: 'parent.EQQ.Model.ChatMsg.callbackSendPic', locallangid: '2052', clientversion: '1409', uin: String(ctx.session.uin),
    skey, appid: '1002101', peeruin: String(peerUin),
  };
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(data)], { type: mime }), fileName);
  form.append('fileid', String(opts.slot ?? 1));
  form.append('vfwebqq', ctx.session.vfwebqq);
  form.append('senderviplevel', '0');
  form.append('reciverviplevel', '0');
  const res = await ctx.transport.postMultipart(OFFPIC_UPLOAD_URL, form, baseOpts(ctx, 'web', { query: { time: Date.now() } }));
  const text = res.text();
  if (res.status !== 200) throw new ProtocolError(ep, `HTTP ${res.status}`, text);
  const json = /\((\{[\s\S]*\})\)/.exec(text)?.[1];
  let o: Json;
  try {
    o = asObject(ep, JSON.parse(json ?? ''), 'callback argument');
  } catch {
    throw new ProtocolError(ep, 'no JSON object in the callback page', text);
  }
  const rc = optNum(o.retcode);
  if (rc !== 0) throw new RetcodeError(ep, rc ?? -1, str(o.result) ?? '');
  const filePath = str(o.filepath);
  if (!filePath) throw new ProtocolError(ep, 'filepath missing', text);
  return { filePath, fileName: str(o.filename) ?? fileName, fileSize: optNum(o.filesize) ?? data.length };
}

/**
 * Uploads a custom face; resolves to the name to put in `["cface","group",name]` (group and
 * discussion) or `["cface",name]` (buddy).
 * The answer is a JS callback `({'ret':0,'msg':'<name>.jPg'})`; ret 4 = already uploaded (its
 * msg still starts with the name) and counts as success (§2.11).
 */
export async function cfaceUpload(
  ctx: ApiContext,
  data: Buffer,
  fileName: string,
  mime: string,
  opts: { slot?: number; scope?: 'group' | 'buddy' } = {},
): Promise<string> {
  const ep = 'cface_upload';
  const slot = opts.slot ?? 1;
  const form = new FormData();
  // The buddy variant names another callback and has no `from` field (§2.11).
  if (opts.scope === 'buddy') form.append('f', 'EQQ.View.ChatBox.uploadCustomFaceCallback');
  else {
    form.append('from', 'control');
    form.append('f', 'EQQ.Model.ChatMsg.callbackSendPicGroup');
  }
  form.append('vfwebqq', ctx.session.vfwebqq);
  form.append('fileid', String(slot));
  form.append('custom_face', new Blob([new Uint8Array(data)], { type: mime }), fileName);
  const res = await ctx.transport.postMultipart(CFACE_UPLOAD_URL, form, baseOpts(ctx, 'web', { query: { time: Date.now() } }));
  const text = res.text();
  if (res.status !== 200) throw new ProtocolError(ep, `HTTP ${res.status}`, text);
  const ret = /['"]ret['"]\s*:\s*(-?\d+)/.exec(text);
  const msg = /['"]msg['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  if (!ret || !msg) throw new ProtocolError(ep, 'no ret/msg in the callback', text);
  const code = Number(ret[1]);
  const name = /^\S+\.\w+/.exec(msg[1]!)?.[0];
  if ((code === 0 || code === 4) && name) return name;
  throw new RetcodeError(ep, code, code === 2 ? 'picture too large' : msg[1]!);
}

export interface Picture {
  data: Buffer;
  mime: string;
}

function sniffMime(b: Buffer, header: string | string[] | undefined): string {
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b.subarray(0, 3).toString('latin1') === 'GIF') return 'image/gif';
  if (b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  const h = Array.isArray(header) ? header[0] : header;
  return h?.split(';')[0]?.trim() || 'application/octet-stream';
}

function picture(ep: string, res: HttpResponse): Picture {
  if (res.status !== 200) throw new ProtocolError(ep, `HTTP ${res.status}`, res.text());
  const mime = sniffMime(res.body, res.headers['content-type']);
  if (!mime.startsWith('image/')) throw new ProtocolError(ep, `not an image (${mime})`, res.text());
  return { data: res.body, mime };
}

export const GROUP_PIC_URL = 'http://web2.qq.com/cgi-bin/get_group_pic';

/**
 * The avatar of a friend/member (session uin) or a group (gid), from the face servers the web
 * client spread its requests over (face1..face10.web.qq.com, chosen by the id).
 */
export async function getFace(ctx: ApiContext, id: number, kind: 'user' | 'group' = 'user'): Promise<Picture> {
  const url = `http://face${(id % 10) + 1}.web.qq.com/cgi/svr/face/getface`;
  const query = { cache: 1, type: kind === 'user' ? 1 : 4, fid: 0, uin: id, vfwebqq: ctx.session.vfwebqq, t: Date.now() };
  const res = await ctx.transport.get(url, baseOpts(ctx, 'web', { query }));
  return picture('getface', res);
}

/** Group (`gid` = the group code) or discussion (`did`) picture from a received cface (§2.11). */
export async function getGroupPic(
  ctx: ApiContext,
  ref: { code?: number; did?: number; sendUin: number; fileId: number; name: string; server?: string },
): Promise<Picture> {
  const [ip, port] = (ref.server ?? '').split(':');
  const query: Record<string, string | number> = { type: 0 };
  if (ref.did !== undefined) query.did = ref.did;
  else query.gid = ref.code ?? 0;
  Object.assign(query, { uin: ref.sendUin, rip: ip ?? '', rport: port ?? '', fid: ref.fileId, pic: ref.name, vfwebqq: ctx.session.vfwebqq, t: Date.now() });
  const res = await ctx.transport.get(GROUP_PIC_URL, baseOpts(ctx, 'web', { query, followRedirects: true }));
  return picture('get_group_pic', res);
}

/** Buddy offline picture (`["offpic",{file_path}]`); the server answers 302 to the image. */
export async function getOffpic(ctx: ApiContext, filePath: string, fromUin: number): Promise<Picture> {
  const ep = 'get_offpic2';
  const query = { file_path: filePath, f_uin: fromUin, ...sessionQuery(ctx) };
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query, followRedirects: true }));
  return picture(ep, res);
}

/** Buddy custom face (`["cface","<name>",""]`). */
export async function getCface(ctx: ApiContext, msgId: number, name: string, fromUin: number): Promise<Picture> {
  const ep = 'get_cface2';
  const query = { lcid: msgId, guid: name, to: fromUin, count: 5, time: 1, ...sessionQuery(ctx) };
  const res = await ctx.transport.get(channelUrl(ctx.session.era, ep), baseOpts(ctx, 'd', { query, followRedirects: true }));
  return picture(ep, res);
}
