/**
 * What a failed QQ send means for the account, decided in one place for every backend.
 *
 * A backend reports what its implementation said (retcode, message, HTTP status, or no answer);
 * this table says which of four things that is:
 * - `bad_request`: this message can never be sent as it is (reported, never retried);
 * - `offline`: the account is not logged in (no sends until it is back);
 * - `refused`: QQ refuses the account's messages — risk control, blocked, rate limited (the whole
 *   account backs off and probes);
 * - `transient`: try this message again later.
 * Some answers are a timeout in form and a refusal in fact (NapCat's `Timeout: NTEvent …
 * sendMsg`): they are `transient` with `suspectRefusal`, and the account state machine calls
 * repeated ones a refusal.
 *
 * Each row names its source. Implementations differ (NapCat answers 1200 on WebSocket and 200 on
 * HTTP; Lagrange.OneBot passes QQ's own send result code through as the retcode; go-cqhttp says
 * everything with 100 and a `msg`), so rows may be limited to implementations.
 */

export type FailureClass = 'bad_request' | 'offline' | 'refused' | 'transient';
export type QqBackendKind = 'webqq' | 'onebot' | 'milky';
/** OneBot implementations told apart by their get_version_info `app_name`. */
export type OneBotImplementation = 'napcat' | 'llonebot' | 'lagrange' | 'go-cqhttp';

/** A failed send, in the implementation's own terms. */
export interface SendFailure {
  backend: QqBackendKind;
  /** get_version_info's app_name (or any string naming it), when the backend knows it. */
  implementation?: string;
  retcode?: number;
  /** The implementation's message / wording / errmsg (and go-cqhttp's `msg`). */
  message?: string;
  /** HTTP status of the call, when it was HTTP and not 200. */
  httpStatus?: number;
  /** No answer at all: our own per-call timeout, the socket dropped, the network failed. */
  noAnswer?: 'timeout' | 'disconnected' | 'network';
}

export interface Verdict {
  class: FailureClass;
  /** Said to the operator (log, /health, the notice). */
  reason: string;
  /** A timeout in form that repeated means a refusal. */
  suspectRefusal: boolean;
  /** The matching row's id (tests, logs). */
  rule: string;
}

export interface FailureRule {
  id: string;
  backend: QqBackendKind;
  /** Only these implementations answer so; an unknown implementation matches every row. */
  implementations?: readonly OneBotImplementation[];
  retcodes?: readonly number[];
  httpStatus?: readonly number[];
  /** Over message (case-insensitive where it says so). */
  message?: RegExp;
  noAnswer?: boolean;
  class: FailureClass;
  suspectRefusal?: boolean;
  reason: string;
  /** Where this answer is documented or observed. */
  source: string;
}

const NT_BASED = ['napcat', 'llonebot'] as const;

/** First matching row wins: specific rows (message patterns) come before the catch-alls. */
export const FAILURE_TABLE: readonly FailureRule[] = [
  // ---- OneBot v11: all implementations
  { id: 'onebot.no-answer', backend: 'onebot', noAnswer: true, class: 'transient', reason: 'no answer from the OneBot implementation', source: 'issue 10: timeouts and dropped sockets are retried by the outbox' },
  { id: 'onebot.token', backend: 'onebot', retcodes: [1401, 1403], httpStatus: [401, 403], class: 'offline', reason: 'the OneBot implementation refused the access token', source: 'github.com/botuniverse/onebot-11 communication/ws.md (1401/1403); NapCat accepts, answers 1403 and closes' },
  { id: 'onebot.bad-params', backend: 'onebot', retcodes: [1400, 400], class: 'bad_request', reason: 'the OneBot implementation rejected the request as invalid', source: 'onebot-11 api/README.md (1400); NapCat src/onebot/action/OneBotAction.ts and LLOneBot src/onebot11/action/BaseAction.ts: failed schema check → 1400 (WebSocket) / 400 (HTTP)' },
  { id: 'onebot.unsupported', backend: 'onebot', retcodes: [1404, 404], class: 'bad_request', reason: 'the OneBot implementation does not support this action', source: 'onebot-11 api/README.md (1404); Lagrange.OneBot Core/Operation/OperationService.cs: unknown action → 404' },
  // NapCat / LLOneBot: QQNT's own answer is inside the message (EventChecker Failed … EventRet {result, errMsg}).
  { id: 'nt.removed', backend: 'onebot', implementations: NT_BASED, message: /"result":\s*110\b|已被移出该群/, class: 'bad_request', reason: 'the account is no longer a member of this group', source: 'NapNeko/NapCatQQ#600: EventChecker Failed … {"result": 110, "errMsg": "发送失败，你已被移出该群，请重新加群。"}' },
  { id: 'nt.muted', backend: 'onebot', implementations: NT_BASED, message: /"result":\s*120\b|禁言/, class: 'transient', reason: 'the account is muted in this group', source: 'QQ send result 120 = muted (sealdice: "sendPacket msg error: 120 … 被禁言"); NapNeko/NapCatQQ#199' },
  { id: 'nt.rich-media', backend: 'onebot', implementations: NT_BASED, message: /rich media transfer failed/i, class: 'bad_request', reason: 'QQ could not take a picture or file of this message (too large?)', source: 'NapNeko/NapCatQQ#1443; exneverbur/ShowMeJM#17: EventChecker Failed … {"result": -1, "errMsg": "rich media transfer failed"}' },
  { id: 'nt.send-timeout', backend: 'onebot', implementations: NT_BASED, retcodes: [1200, 200], message: /Timeout:\s*NTEvent[\s\S]*sendMsg/, class: 'transient', suspectRefusal: true, reason: 'QQ did not confirm the send (NapCat "Timeout: NTEvent … sendMsg"; repeated, this is risk control or a mute)', source: 'NapNeko/NapCatQQ#1410 (retcode 1200 after ~10 s, suspected risk control, other accounts fine), #262, #199 (also when muted)' },
  // go-cqhttp says everything with retcode 100 and a `msg` code.
  { id: 'gocq.risk', backend: 'onebot', implementations: ['go-cqhttp'], retcodes: [100], message: /\bSEND_MSG_API_ERROR\b|请参考 ?(go-cqhttp ?端)?输出/, class: 'refused', reason: 'QQ refused the message (go-cqhttp: "群消息发送失败: 账号可能被风控" — risk control)', source: 'Mrs4s/go-cqhttp coolq/api.go: Failed(100, "SEND_MSG_API_ERROR", "请参考 go-cqhttp 端输出") after "账号可能被风控"; Mrs4s/go-cqhttp#211, #515' },
  { id: 'gocq.no-group', backend: 'onebot', implementations: ['go-cqhttp'], retcodes: [100], message: /\bGROUP_NOT_FOUND\b/, class: 'bad_request', reason: 'QQ group not found', source: 'Mrs4s/go-cqhttp coolq/api.go: Failed(100, "GROUP_NOT_FOUND", "群聊不存在")' },
  // Any other 100 is retried, not dropped: go-cqhttp says refusals with 100 too, and a client that
  // reads `wording` before `msg` may not see the code.
  { id: 'gocq.failed', backend: 'onebot', implementations: ['go-cqhttp'], retcodes: [100], class: 'transient', reason: 'go-cqhttp could not send', source: 'Mrs4s/go-cqhttp coolq/api.go: Failed(100, …) for refusals and bad requests alike' },
  // Lagrange.OneBot passes QQ's send result through as the retcode (SendGroupMessageOperation.cs).
  { id: 'lagrange.risk', backend: 'onebot', implementations: ['lagrange'], retcodes: [46], class: 'refused', reason: 'QQ refused the account\'s group messages (result 46: risk control)', source: 'Lagrange.OneBot SendGroupMessageOperation.cs: OneBotResult(null, (int)result.Result, "failed"); result 46: mamoe/mirai#2127, duan602728596/qqtools#133' },
  { id: 'lagrange.muted', backend: 'onebot', implementations: ['lagrange'], retcodes: [120], class: 'transient', reason: 'the account is muted in this group (result 120)', source: 'QQ send result 120 = muted (sealdice; go-cqhttp "msg error: 120")' },
  { id: 'lagrange.removed', backend: 'onebot', implementations: ['lagrange'], retcodes: [110], class: 'bad_request', reason: 'the account is no longer a member of this group (result 110)', source: 'QQ send result 110 (NapNeko/NapCatQQ#600 shows the same result code through QQNT)' },
  { id: 'lagrange.exception', backend: 'onebot', implementations: ['lagrange'], retcodes: [200], class: 'transient', reason: 'Lagrange.OneBot failed while handling the send', source: 'Lagrange.OneBot Core/Operation/OperationService.cs: exception → OneBotResult(null, 200, "failed")' },
  { id: 'onebot.risk-words', backend: 'onebot', message: /风控|risk control|频繁|too frequent/i, class: 'refused', reason: 'QQ refused the message (risk control / too frequent)', source: 'go-cqhttp and NTQQ wordings ("账号可能被风控", "发送频繁")' },
  { id: 'onebot.other', backend: 'onebot', class: 'transient', reason: 'the OneBot implementation could not send', source: 'issue 10: other failures (NapCat 1200/200, go-cqhttp 100 …) are retried by the outbox' },

  // ---- Milky
  { id: 'milky.no-answer', backend: 'milky', noAnswer: true, class: 'transient', reason: 'no answer from the Milky implementation', source: 'issue 19: timeouts are retried by the outbox' },
  { id: 'milky.token', backend: 'milky', httpStatus: [401], class: 'offline', reason: 'the Milky implementation refused the access token', source: 'SaltifyDev/milky docs/content/guide/communication.md: HTTP 401' },
  { id: 'milky.no-api', backend: 'milky', httpStatus: [404, 415], class: 'bad_request', reason: 'the Milky implementation does not take this call', source: 'milky communication.md: HTTP 404 (no such API), 415 (content type)' },
  { id: 'milky.not-logged-in', backend: 'milky', retcodes: [-403], class: 'offline', reason: 'the QQ account is not logged in', source: 'milky communication.md: retcode -403 "未处于登录状态"' },
  { id: 'milky.bad-params', backend: 'milky', retcodes: [-400], class: 'bad_request', reason: 'the Milky implementation rejected the request as invalid', source: 'milky communication.md: retcode -400 (参数解析失败)' },
  { id: 'milky.not-found', backend: 'milky', retcodes: [-404], class: 'bad_request', reason: 'the Milky implementation did not find the target', source: 'milky communication.md: retcode -404 example ("对应的好友不存在")' },
  // Lagrange.Milky answers a failed operation with QQ's own result code as the retcode
  // (Lagrange.Milky/Api/MilkyHttpApiService.cs: OperationException → ApiFailedResult(e.Result, e.ErrMsg)),
  // the same codes Lagrange.OneBot passes through. Other implementations' codes are their own.
  { id: 'milky.risk', backend: 'milky', retcodes: [46], class: 'refused', reason: 'QQ refused the account\'s group messages (result 46: risk control)', source: 'LagrangeDev/LagrangeV2 Lagrange.Milky/Api/MilkyHttpApiService.cs (OperationException.Result as retcode); result 46: mamoe/mirai#2127, duan602728596/qqtools#133' },
  { id: 'milky.muted', backend: 'milky', retcodes: [120], class: 'transient', reason: 'the account is muted in this group (result 120)', source: 'Lagrange.Milky passes QQ\'s send result through; 120 = muted (sealdice; go-cqhttp "msg error: 120")' },
  { id: 'milky.removed', backend: 'milky', retcodes: [110], class: 'bad_request', reason: 'the account is no longer a member of this group (result 110)', source: 'Lagrange.Milky passes QQ\'s send result through; 110 = removed from the group (NapNeko/NapCatQQ#600)' },
  { id: 'milky.risk-words', backend: 'milky', message: /风控|risk control|频繁|too frequent/i, class: 'refused', reason: 'QQ refused the message (risk control / too frequent)', source: 'milky leaves other retcodes to the implementation; its message is QQ\'s wording' },
  { id: 'milky.other', backend: 'milky', class: 'transient', reason: 'the Milky implementation could not send', source: 'milky communication.md: other retcodes are the implementation\'s; issue 19: retried by the outbox' },

  // ---- WebQQ (protocol reference §2.6, §4.5, §4.6)
  { id: 'webqq.no-answer', backend: 'webqq', noAnswer: true, class: 'transient', reason: 'no answer from WebQQ', source: 'webqq-protocol.md §4.6: an unreadable answer has not refused the message' },
  { id: 'webqq.1202', backend: 'webqq', retcodes: [1202], class: 'transient', suspectRefusal: true, reason: 'WebQQ answered 1202 (spam/frequency filter; often delivered anyway, never resent)', source: 'webqq-protocol.md §2.6, §4.6 (ScienJus #11, Yinzo #56, pandolia #141/#354)' },
  { id: 'webqq.too-frequent', backend: 'webqq', retcodes: [100003], class: 'refused', reason: 'WebQQ: requests too frequent', source: 'webqq-protocol.md §4.5 (ScienJus: 100003 requests too frequent)' },
  { id: 'webqq.session', backend: 'webqq', retcodes: [103, 108, 100, 121, 120, 122, 100000, 100001], class: 'transient', reason: 'the WebQQ session was being replaced', source: 'webqq-protocol.md §4.5; src/connectors/qq/webqq/sender.ts SESSION_CODES' },
  { id: 'webqq.other', backend: 'webqq', class: 'bad_request', reason: 'WebQQ refused the message', source: 'webqq-protocol.md §2.6: any other retcode refuses this message' },
];

/** get_version_info's app_name → the implementation, when it is one the table knows. */
export function oneBotImplementation(appName: string | undefined): OneBotImplementation | undefined {
  const n = (appName ?? '').toLowerCase();
  if (n.includes('napcat')) return 'napcat';
  if (n.includes('llonebot') || n.includes('lucky')) return 'llonebot';
  if (n.includes('lagrange')) return 'lagrange';
  if (n.includes('go-cqhttp') || n.includes('gocq')) return 'go-cqhttp';
  return undefined;
}

function matches(rule: FailureRule, f: SendFailure, impl: OneBotImplementation | undefined): boolean {
  if (rule.backend !== f.backend) return false;
  if (rule.noAnswer) return f.noAnswer !== undefined;
  if (f.noAnswer !== undefined) return false;
  if (rule.implementations && impl !== undefined && !rule.implementations.includes(impl)) return false;
  // A row with retcodes and HTTP statuses matches either.
  if (rule.retcodes || rule.httpStatus) {
    const byCode = rule.retcodes !== undefined && f.retcode !== undefined && rule.retcodes.includes(f.retcode);
    const byHttp = rule.httpStatus !== undefined && f.httpStatus !== undefined && rule.httpStatus.includes(f.httpStatus);
    if (!byCode && !byHttp) return false;
  }
  if (rule.message && !rule.message.test(f.message ?? '')) return false;
  return true;
}

/** Classifies one failed send by the table; the last row of each backend catches the rest. */
export function classifySendFailure(f: SendFailure): Verdict {
  const impl = f.backend === 'onebot' ? oneBotImplementation(f.implementation) : undefined;
  const rule = FAILURE_TABLE.find((r) => matches(r, f, impl));
  if (!rule) return { class: 'transient', reason: 'unknown failure', suspectRefusal: false, rule: 'none' };
  return { class: rule.class, reason: rule.reason, suspectRefusal: rule.suspectRefusal ?? false, rule: rule.id };
}
