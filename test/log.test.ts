import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../src/log.js';
import { capturedLogger } from './support/log-capture.js';

const capture = () => capturedLogger('debug');

describe('logging', () => {
  it('redacts credentials in structured fields at any depth', () => {
    const { log, text } = capture();
    log.info(
      { password: 'hunter2', qq: { ptwebqq: 'aaaabbbbcccc', session: { psessionid: '8368046764001d' } }, headers: { cookie: 'skey=@SoxMZ1bd4', 'set-cookie': 'ptwebqq=zz' }, irc: { sasl: { password: 'saslpw' } } },
      'login',
    );
    const out = text();
    for (const secret of ['hunter2', 'aaaabbbbcccc', '8368046764001d', '@SoxMZ1bd4', 'ptwebqq=zz', 'saslpw']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
    expect(out).toContain('"msg":"login"');
  });

  it('scrubs secrets out of URLs, JSON bodies and error messages', () => {
    const { log, text } = capture();
    log.debug(`GET https://s.web2.qq.com/api/getvfwebqq?ptwebqq=6366abc&clientid=53999199&psessionid=8368beef&t=1`);
    log.warn({ err: new Error('login2 answered {"retcode":103,"psessionid":"8368cafe","vfwebqq":"ef21dead"}') }, 'relink failed');
    log.info({ url: 'https://api.telegram.org/bot123456:AAHsecretTOKEN/getMe' }, 'telegram');
    const out = text();
    for (const secret of ['6366abc', '8368beef', '8368cafe', 'ef21dead', 'AAHsecretTOKEN']) expect(out).not.toContain(secret);
    expect(out).toContain('clientid=53999199');
  });

  it('scrubs every free-text field, however deep: a failure reason, a last error, a detail', () => {
    const { log, text } = capture();
    const reason = 'Matrix delivery to !r:hs: 403 M_FORBIDDEN: PUT https://hs.example/_matrix/client/v3/rooms/x/send?access_token=syt_REASONSECRET';
    const fields = { net: 'matrix', room: '!r:hs', kind: 'rejected', reason, id: 'qq:1' };
    log.error(fields, 'a message could not be delivered');
    log.warn({ targets: [{ lastError: 'GET https://api.telegram.org/bot42:AAHlastErrorSECRET/getMe' }], qq: { detail: 'login2 {"ptwebqq":"DETAILSECRET"}' } }, 'status');
    log.info({ note: 'Authorization: Bearer BEARERSECRET' }, 'x');
    const out = text();
    for (const secret of ['syt_REASONSECRET', 'AAHlastErrorSECRET', 'DETAILSECRET', 'BEARERSECRET']) expect(out).not.toContain(secret);
    expect(out).toContain('403 M_FORBIDDEN');
    expect(fields.reason).toBe(reason); // the caller's object is left as it was
  });

  it('leaves ordinary text alone', () => {
    expect(scrubSecrets('group 346167134 says: the password policy changed')).toBe('group 346167134 says: the password policy changed');
    expect(scrubSecrets('?p=ABCDEF&u=123')).toBe('?p=[redacted]&u=123');
  });
});
