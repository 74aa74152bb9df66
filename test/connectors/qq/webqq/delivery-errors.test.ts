/** WebQQ client errors → delivery outcomes, in the one place the QQ connector maps them. */
import { describe, expect, it } from 'vitest';
import { DeliveryError } from '../../../../src/core/errors.js';
import { sentPieces, toDeliveryError } from '../../../../src/connectors/qq/webqq/delivery-errors.js';
import { LoginError, NotReadyError, RetcodeError, SendError, TransportError, UnknownTargetError } from '../../../../src/connectors/qq/webqq/errors.js';

describe('toDeliveryError', () => {
  it('a refused send is rejected, a session-lost one retryable, with the pieces that went out', () => {
    const refused = new SendError('send_qun_msg2', 100012, 'send_qun_msg2 answered retcode 100012', [7], false);
    expect(toDeliveryError(refused).kind).toBe('rejected');
    expect(toDeliveryError(refused).message).toMatch(/100012/);
    expect(sentPieces(refused)).toEqual([7]);
    expect(toDeliveryError(new SendError('send_qun_msg2', 103, 'x', [], true)).kind).toBe('retryable');
  });
  it('unknown targets are rejected; no session or no network is retryable', () => {
    expect(toDeliveryError(new UnknownTargetError('get_group_name_list_mask2', 'the bot is not in QQ group 5')).kind).toBe('rejected');
    expect(toDeliveryError(new NotReadyError('not logged in')).kind).toBe('retryable');
    expect(toDeliveryError(new TransportError('http://d.web2.qq.com/channel/send_qun_msg2', 'ECONNRESET', 'ECONNRESET')).kind).toBe('retryable');
    expect(toDeliveryError(new Error('anything else')).kind).toBe('retryable');
    expect(sentPieces(new Error('x'))).toBeUndefined();
  });
  it('a login that needs the operator is fatal; a busy server is not', () => {
    expect(toDeliveryError(new LoginError('wrong-password', 'wrong QQ number or password', { code: '3' })).kind).toBe('fatal');
    expect(toDeliveryError(new LoginError('busy', 'busy', { code: '1', retryable: true })).kind).toBe('retryable');
  });
  it('keeps a delivery error as it is and carries the retcode and endpoint on the cause', () => {
    const d = new DeliveryError('rejected', 'x');
    expect(toDeliveryError(d)).toBe(d);
    const r = new RetcodeError('get_user_friends2', 50, 'hash');
    expect(r.retcode).toBe(50);
    expect(r.endpoint).toBe('get_user_friends2');
    expect(toDeliveryError(r).cause).toBe(r);
    expect(new LoginError('channel', 'x', { code: 'login2:103', endpoint: 'login2' }).retcode).toBe(103);
  });
});
