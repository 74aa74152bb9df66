/** The one line a failed start prints, and whether `run` keeps trying, for the failures a user meets. */
import { describe, expect, it } from 'vitest';
import { explainStartupFailure } from '../../src/cli/failure.js';
import { prettyLine } from '../../src/cli/pretty.js';
import { TransportError } from '../../src/connectors/qq/webqq/transport.js';
import { LoginError } from '../../src/connectors/qq/webqq/auth.js';
import { StoreError } from '../../src/store/errors.js';

const ptlogin = 'https://ui.ptlogin2.qq.com/cgi-bin/login?daid=164&appid=1003903&p=secretpass';

describe('explainStartupFailure', () => {
  it('WebQQ without an endpoint: says the servers are gone and what to use instead; no retry', () => {
    const f = explainStartupFailure(new TransportError(ptlogin, 'getaddrinfo ENOTFOUND ui.ptlogin2.qq.com', 'ENOTFOUND'));
    expect(f.retry).toBe(false);
    expect(f.line).toMatch(/^QQ login failed: cannot reach ui\.ptlogin2\.qq\.com \(ENOTFOUND\); WebQQ's own servers closed on 2019-01-01/);
    expect(f.line).toContain('qq.endpoint');
    expect(f.line).not.toContain('\n');
    expect(f.line).not.toContain('secretpass');
  });

  it('a simulator or server at qq.endpoint that is not up yet: retried', () => {
    const f = explainStartupFailure(new TransportError('https://ui.ptlogin2.qq.com/cgi-bin/login', 'connect ECONNREFUSED 127.0.0.1:8700', 'ECONNREFUSED'), {
      qqEndpoint: 'http://127.0.0.1:8700',
    });
    expect(f).toEqual({ line: 'QQ login failed: cannot reach 127.0.0.1:8700 (ECONNREFUSED); check that the server at http://127.0.0.1:8700 is running and reachable', retry: true });
  });

  it('a wrong password: not retried, says which keys to check', () => {
    const f = explainStartupFailure(new LoginError('wrong-password', 'wrong QQ number or password'));
    expect(f).toEqual({ line: 'QQ login failed: wrong QQ number or password; check qq.uin and qq.password', retry: false });
  });

  it('a port in use names the address and the keys that move it', () => {
    const e = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8780'), { code: 'EADDRINUSE', address: '127.0.0.1', port: 8780, syscall: 'listen' });
    const f = explainStartupFailure(e);
    expect(f.retry).toBe(false);
    expect(f.line).toBe('cannot listen on 127.0.0.1:8780: 127.0.0.1:8780 is already in use; stop the other program, or change media.port / metrics.port / matrix.port (and their bindAddress) in the config');
  });

  it('PostgreSQL down is retried; a full disk is not', () => {
    expect(explainStartupFailure(new StoreError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })).retry).toBe(true);
    const full = explainStartupFailure(new StoreError('database or disk is full', { code: 'SQLITE_FULL' }));
    expect(full).toEqual({ line: 'the store failed: database or disk is full; check store.url (PostgreSQL) or that stateDir is writable and has free space', retry: false });
  });

  it('anything else is still one line, pointing at debug logging for the stack', () => {
    const f = explainStartupFailure(new TypeError('x is not a function\n    at foo (bar.js:1:1)'));
    expect(f).toEqual({ line: 'start-up failed: TypeError: x is not a function; run with log.level: debug (or QQBRIDGE_LOG_LEVEL=debug) to see where', retry: false });
  });
});

describe('prettyLine (--pretty)', () => {
  it('one JSON log line becomes time, level, network, message and the other fields, net once', () => {
    const t = new Date(2026, 0, 2, 3, 4, 5).getTime();
    const line = prettyLine(JSON.stringify({ level: 40, time: t, pid: 1, hostname: 'h', net: 'irc', room: '#qq', waitMs: 695, msg: 'IRC connection closed; reconnecting' }), false);
    expect(line).toBe('03:04:05 WARN  irc  IRC connection closed; reconnecting  room=#qq waitMs=695');
    expect(prettyLine('not json', false)).toBe('not json');
  });
});
