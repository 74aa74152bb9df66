import { describe, expect, it } from 'vitest';
import { classifySendFailure, FAILURE_TABLE, oneBotImplementation, type SendFailure } from '../../../../src/connectors/qq/account/failures.js';

const napcatTimeout =
  'Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet: {"result": 0, "errMsg": ""}';

function c(f: SendFailure) {
  const v = classifySendFailure(f);
  return [v.class, v.suspectRefusal, v.rule] as const;
}

describe('classifySendFailure', () => {
  it('NapCat and LLOneBot: schema errors are bad requests on both transports', () => {
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 1400, message: 'Key: group_id' })[0]).toBe('bad_request');
    expect(c({ backend: 'onebot', implementation: 'LLOneBot', retcode: 400 })[0]).toBe('bad_request');
    expect(c({ backend: 'onebot', retcode: 1404 })[0]).toBe('bad_request');
  });

  it('NapCat 1200 "Timeout: NTEvent … sendMsg" is transient but a suspected refusal (WebSocket 1200, HTTP 200)', () => {
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 1200, message: napcatTimeout })).toEqual(['transient', true, 'nt.send-timeout']);
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 200, message: napcatTimeout })).toEqual(['transient', true, 'nt.send-timeout']);
    // The implementation unknown (no get_version_info yet): the same answer means the same.
    expect(c({ backend: 'onebot', retcode: 1200, message: napcatTimeout })[2]).toBe('nt.send-timeout');
    // A timeout of another NT call is no sign of refusal.
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 1200, message: 'Timeout: NTEvent serviceAndMethod:NodeIKernelGroupService/getGroupList' })).toEqual(['transient', false, 'onebot.other']);
  });

  it('NapCat EventChecker results: removed from the group, muted, rich media', () => {
    const checker = (result: number, errMsg: string) =>
      `EventChecker Failed: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg ListenerName:NodeIKernelMsgListener/onMsgInfoListUpdate EventRet:\n{\n    "result": ${result},\n    "errMsg": "${errMsg}"\n}\n`;
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 1200, message: checker(110, '发送失败，你已被移出该群，请重新加群。') })[0]).toBe('bad_request');
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 200, message: checker(120, '') })).toEqual(['transient', false, 'nt.muted']);
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 200, message: checker(-1, 'rich media transfer failed') })[0]).toBe('bad_request');
  });

  it('go-cqhttp: SEND_MSG_API_ERROR is risk control, GROUP_NOT_FOUND a bad request', () => {
    expect(c({ backend: 'onebot', implementation: 'go-cqhttp', retcode: 100, message: 'SEND_MSG_API_ERROR' })[0]).toBe('refused');
    expect(c({ backend: 'onebot', implementation: 'go-cqhttp', retcode: 100, message: 'GROUP_NOT_FOUND' })[0]).toBe('bad_request');
    // Only the wording reached us (send_group_msg failed: retcode 100 (请参考 go-cqhttp 端输出)).
    expect(c({ backend: 'onebot', retcode: 100, message: 'send_group_msg failed: retcode 100 (请参考 go-cqhttp 端输出)' })[0]).toBe('refused');
    expect(c({ backend: 'onebot', implementation: 'go-cqhttp', retcode: 100, message: 'EMPTY_NODES' })[0]).toBe('transient');
  });

  it('Lagrange.OneBot passes QQ results through: 46 refused, 120 muted, 200 exception', () => {
    expect(c({ backend: 'onebot', implementation: 'Lagrange.OneBot', retcode: 46 })[0]).toBe('refused');
    expect(c({ backend: 'onebot', implementation: 'Lagrange.OneBot', retcode: 120 })[2]).toBe('lagrange.muted');
    expect(c({ backend: 'onebot', implementation: 'Lagrange.OneBot', retcode: 200 })[0]).toBe('transient');
    // Lagrange's rows never apply to NapCat.
    expect(c({ backend: 'onebot', implementation: 'NapCat.Onebot', retcode: 46 })[0]).toBe('transient');
  });

  it('tokens and no answers', () => {
    expect(c({ backend: 'onebot', retcode: 1403 })[0]).toBe('offline');
    expect(c({ backend: 'onebot', noAnswer: 'timeout' })[0]).toBe('transient');
    expect(c({ backend: 'milky', noAnswer: 'disconnected' })[0]).toBe('transient');
    expect(c({ backend: 'webqq', noAnswer: 'network' })[0]).toBe('transient');
  });

  it('Milky: -403 offline, -400 bad request, HTTP 401 token, other transient', () => {
    expect(c({ backend: 'milky', retcode: -403, message: '未处于登录状态' })[0]).toBe('offline');
    expect(c({ backend: 'milky', retcode: -400, message: 'group_id invalid' })[0]).toBe('bad_request');
    expect(c({ backend: 'milky', httpStatus: 401 })[0]).toBe('offline');
    expect(c({ backend: 'milky', retcode: -500, message: 'internal' })[0]).toBe('transient');
    expect(c({ backend: 'milky', retcode: -1, message: '消息发送失败，账号可能被风控' })[0]).toBe('refused');
  });

  it('Lagrange.Milky: QQ\'s send result as the retcode — 46 refused, 120 muted (retried), 110 removed (reported)', () => {
    expect(c({ backend: 'milky', retcode: 46, message: 'send message failed' })).toEqual(['refused', false, 'milky.risk']);
    expect(c({ backend: 'milky', retcode: 120 })[0]).toBe('transient');
    expect(c({ backend: 'milky', retcode: 110 })[0]).toBe('bad_request');
  });

  it('WebQQ: 1202 suspect, session codes transient, other retcodes refuse the message', () => {
    expect(c({ backend: 'webqq', retcode: 1202 })).toEqual(['transient', true, 'webqq.1202']);
    expect(c({ backend: 'webqq', retcode: 103 })[0]).toBe('transient');
    expect(c({ backend: 'webqq', retcode: 100003 })[0]).toBe('refused');
    expect(c({ backend: 'webqq', retcode: 6 })[0]).toBe('bad_request');
  });

  it('every row names a source and every backend ends with a catch-all', () => {
    for (const r of FAILURE_TABLE) expect(r.source.length).toBeGreaterThan(10);
    for (const b of ['webqq', 'onebot', 'milky'] as const) {
      const rows = FAILURE_TABLE.filter((r) => r.backend === b);
      const last = rows.at(-1)!;
      expect(last.retcodes ?? last.httpStatus ?? last.message ?? last.implementations).toBeUndefined();
    }
  });

  it('names implementations from get_version_info app_name', () => {
    expect(oneBotImplementation('NapCat.Onebot')).toBe('napcat');
    expect(oneBotImplementation('Lagrange.OneBot')).toBe('lagrange');
    expect(oneBotImplementation('go-cqhttp')).toBe('go-cqhttp');
    expect(oneBotImplementation('LLOneBot')).toBe('llonebot');
    expect(oneBotImplementation('something else')).toBeUndefined();
  });
});
