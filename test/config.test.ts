import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigIssuesError, loadConfig, parseConfig, type Config } from '../src/config.js';
import type { WebqqConfig } from '../src/connectors/qq/config.js';
import { ConfigError } from '../src/core/errors.js';
import { MappingRouteTable } from '../src/mappings/routes.js';

const minimal = (extra = '') => `qq:\n  uin: 123456\n  password: secret\n${extra}`;

function errorOf(fn: () => unknown): ConfigIssuesError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigIssuesError;
  }
  throw new Error('expected a ConfigError');
}

/** The `qq` section of a config that uses the WebQQ backend (the default protocol). */
function webqq(q: Config['qq']): WebqqConfig {
  expect(q.protocol).toBe('webqq');
  return q as WebqqConfig;
}

describe('config loader', () => {
  it('fills every default from a minimal file', () => {
    const c = parseConfig(minimal(), 'c.yaml', {});
    expect(c.stateDir).toBe('./state');
    expect(c.log.level).toBe('info');
    expect(c.media).toMatchObject({ enabled: true, bindAddress: '127.0.0.1', port: 8780, maxBytes: 10 * 1024 * 1024, maxAgeDays: 30 });
    expect(c.mappings).toEqual([]);
    expect(c.irc).toBeUndefined();
  });

  it('substitutes ${ENV} and ${ENV:-default} inside values, typing unquoted numbers', () => {
    const text = [
      'qq:',
      '  uin: ${QQ_UIN}',
      '  password: "${QQ_PASSWORD}"',
      'media:',
      '  port: ${MEDIA_PORT:-8781}',
      '  publicUrl: https://${HOST:-bridge.example.org}/qq',
      'stateDir: "$${NOT_A_VAR}/state"',
    ].join('\n');
    const c = parseConfig(text, 'c.yaml', { QQ_UIN: '42', QQ_PASSWORD: 'p@ss: "w0rd"' });
    expect(webqq(c.qq).uin).toBe(42);
    expect(webqq(c.qq).password).toBe('p@ss: "w0rd"');
    expect(c.media.port).toBe(8781);
    expect(c.media.publicUrl).toBe('https://bridge.example.org/qq');
    expect(c.stateDir).toBe('${NOT_A_VAR}/state');
  });

  it('names the key and line of an unset variable without default', () => {
    const e = errorOf(() => parseConfig('qq:\n  uin: 1\n  password: ${QQ_PASSWORD}\n', 'config.yaml', {}));
    expect(e.message).toBe(
      "config.yaml:3:13: qq.password: environment variable QQ_PASSWORD is not set (set QQ_PASSWORD in the bridge's environment, e.g. its secrets file; a secret has no default)",
    );
  });

  it('reports a missing environment variable together with every other problem', () => {
    const text = ['qq:', '  uin: ${QQ_UIN}', '  password: ${QQ_PASSWORD}', 'irc:', '  host: irc.example.org', '  nick: q', '  port: 6697/tcp', 'media:', '  colour: red'].join('\n');
    const e = errorOf(() => parseConfig(text, 'config.yaml', { QQ_UIN: '42' }));
    expect(e.message.split('\n')).toEqual([
      "config.yaml:3:13: qq.password: environment variable QQ_PASSWORD is not set (set QQ_PASSWORD in the bridge's environment, e.g. its secrets file; a secret has no default)",
      'config.yaml:7:9: irc.port: expected an integer, got "6697/tcp"',
      'config.yaml:9:3: media.colour: unknown key (known keys: enabled, bindAddress, port, publicUrl, maxBytes, maxAgeDays)',
    ]);
  });

  it('an unresolved reference in a number field is one error, not two', () => {
    const e = errorOf(() => parseConfig('qq:\n  uin: ${QQ_UIN}\n  password: x\n', 'c.yaml', {}));
    expect(e.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'qq.uin: environment variable QQ_UIN is not set (set QQ_UIN, or write ${QQ_UIN:-default} to give a default)',
    ]);
  });

  it('says a variable is set but empty, not that it is unset', () => {
    const e = errorOf(() => parseConfig('qq:\n  uin: 1\n  password: ${QQ_PASSWORD}\n', 'c.yaml', { QQ_PASSWORD: '' }));
    expect(e.message).toContain('qq.password: environment variable QQ_PASSWORD is set but empty');
    expect(e.message).not.toContain('not set');
    expect(e.message).not.toContain(':-default');
  });

  it('takes a number given for a text field as its text, from the environment or written in the file', () => {
    const fromEnv = parseConfig('qq:\n  uin: 1\n  password: ${QQ_PASSWORD}\n', 'c.yaml', { QQ_PASSWORD: '123456' });
    expect(webqq(fromEnv.qq).password).toBe('123456');
    // The characters as written: a leading zero is part of a password.
    const literal = parseConfig('qq:\n  uin: 1\n  password: 007\n', 'c.yaml', {});
    expect(webqq(literal.qq).password).toBe('007');
    const env0 = parseConfig('qq:\n  uin: 1\n  password: ${QQ_PASSWORD}\n', 'c.yaml', { QQ_PASSWORD: '0012' });
    expect(webqq(env0.qq).password).toBe('0012');
    // A number field still refuses text.
    const e = errorOf(() => parseConfig('qq:\n  uin: 1\n  password: 1\nirc:\n  host: h\n  nick: n\n  port: "x"\n', 'c.yaml', {}));
    expect(e.message).toBe('c.yaml:7:9: irc.port: expected an integer, got "x"');
  });

  it('reports a wrong type with file:line:column and the value given', () => {
    const text = ['log:', '  level: info', 'qq:', '  password: x', '  uin: abc'].join('\n');
    const e = errorOf(() => parseConfig(text, 'config.yaml', {}));
    expect(e.message).toBe('config.yaml:5:8: qq.uin: expected a positive integer, got "abc"');
  });

  it('rejects unknown keys with a "did you mean" hint, even in sections that strip them', () => {
    const e = errorOf(() => parseConfig('qq:\n  uin: 1\n  password: x\n  pasword: y\nmedai:\n  port: 1\n', 'config.yaml', {}));
    expect(e.issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`)).toEqual([
      '4:3 qq.pasword: unknown key (did you mean "password"?)',
      '5:1 medai: unknown key (did you mean "media"?)',
    ]);
    const far = errorOf(() => parseConfig(minimal('media:\n  colour: red\n'), 'c.yaml', {}));
    expect(far.message).toMatch(/media\.colour: unknown key \(known keys: enabled, bindAddress, port/);
  });

  it('lists several errors at once, in file order', () => {
    const text = [
      'qq:',
      '  uin: -5',
      '  login: pasword',
      'media:',
      '  port: 99999',
      '  enabled: yes please',
      'mappings:',
      '  - qq: { group: 1 }',
      '    irc: "#a"',
      '  - qq: { group: 2 }',
      '    irc: ["#b", "#A"]',
      '  - qq: { discussion: lonely }',
      'irc: { host: irc.example.org, nick: qqbridge }',
    ].join('\n');
    const e = errorOf(() => parseConfig(text, 'config.yaml', {}));
    expect(e.issues.map((i) => `${i.line}:${i.col} ${i.path}`)).toEqual([
      '2:8 qq.uin',
      '3:10 qq.login',
      '5:9 media.port',
      '6:12 media.enabled',
      '11:17 mappings[1].irc[1]',
      '12:5 mappings[2]',
    ]);
    expect(e.message.split('\n')).toHaveLength(6);
    expect(e.message).toContain('config.yaml:6:12: media.enabled: expected true or false, got "yes please"');
    expect(e.message).toContain('irc room "#A" is already mapped in link 1');
  });

  it('never prints a secret in an error message', () => {
    const e = errorOf(() =>
      parseConfig('qq:\n  uin: 1\n  password: [hunter2]\nstore:\n  url: mysql://bridge:hunter2@db/q\n', 'c.yaml', {}),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['qq.password', 'store.url']);
    expect(e.message).toContain('mysql://bridge:***@db/q');
    expect(e.message).not.toContain('hunter2');
  });

  it('with checkFiles, a missing or placeholder Matrix registration is an error naming the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qqbridge-config-'));
    try {
      const text = (reg: string) => minimal(`matrix:\n  homeserverUrl: http://localhost:8008\n  domain: example.org\n  registration: ${reg}\n`);
      const missing = join(dir, 'nope.yaml');
      const e = errorOf(() => parseConfig(text(missing), 'c.yaml', {}, { checkFiles: true }));
      expect(e.message).toMatch(new RegExp(`^c\\.yaml:7:17: matrix\\.registration: cannot read Matrix registration ${missing.replace(/[.]/g, '\\.')}: .*ENOENT.*generate-registration`));
      const placeholder = errorOf(() => parseConfig(text('registration.example.yaml'), 'c.yaml', {}, { checkFiles: true }));
      expect(placeholder.message).toBe(
        'c.yaml:7:17: matrix.registration: Matrix registration registration.example.yaml: as_token is still a placeholder; generate real tokens with "qqbridge generate-registration"',
      );
      // Without checkFiles (a registration handed over in code), the path is not read.
      expect(parseConfig(text(missing), 'c.yaml', {}).matrix?.registration).toBe(missing);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('points a missing required key at its section', () => {
    const e = errorOf(() => parseConfig('stateDir: /tmp/x\nqq:\n  password: x\n', 'c.yaml', {}));
    expect(e.message).toBe('c.yaml:2:1: qq.uin: required key is missing');
  });

  it('reports YAML syntax errors with their position', () => {
    const e = errorOf(() => parseConfig('qq:\n  uin: 1\n  uin: 2\n', 'c.yaml', {}));
    expect(e.message).toMatch(/^c\.yaml:3:3: YAML syntax error: Map keys must be unique/);
  });

  it('loads a file, records where each link is, and parses the example config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qqbridge-config-'));
    try {
      const file = join(dir, 'bridge.yaml');
      await writeFile(file, minimal('mappings:\n  - qq: { group: 7 }\n    telegram: -100\ntelegram:\n  token: "123:abc"\n'));
      const c = loadConfig(file, {});
      expect(c.mappings[0]!.source).toBe(`${file}:5:5`);
      expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/config file not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const example = loadConfig('config.example.yaml', { QQ_PASSWORD: 'from-env' });
    expect(webqq(example.qq).password).toBe('from-env');
    expect(example.irc?.host).toBeTruthy();
    expect(example.mappings.length).toBeGreaterThan(0);
  });
});

describe('mappings checked against the networks and their room codecs', () => {
  const withSections = (...mappings: string[]) =>
    [
      'qq:',
      '  uin: 1',
      '  password: x',
      'irc: { host: irc.example.org, nick: qqbridge }',
      'mappings:',
      ...mappings,
    ].join('\n');
  const problems = (text: string) => errorOf(() => parseConfig(text, 'c.yaml', {})).message.split('\n');

  it('rejects a room on a network the config does not set up, naming mappings[i].<network>', () => {
    expect(problems(withSections('  - qq: { group: 1 }', '    irc: "#a"', '  - qq: { group: 2 }', '    telegram: -100', '    matrix: "!r:hs"'))).toEqual([
      'c.yaml:9:5: mappings[1].telegram: this link names a Telegram room but the config has no "telegram:" section; add one or remove the room',
      'c.yaml:10:5: mappings[1].matrix: this link names a Matrix room but the config has no "matrix:" section; add one or remove the room',
    ]);
  });

  it('rejects a malformed room with the key and position, whatever the network', () => {
    expect(problems(withSections('  - qq: { group: 1 }', '    irc: "#a:b"'))).toEqual([
      'c.yaml:7:10: mappings[0].irc: expected an IRC channel name such as "#qq" (no spaces, commas or colons), got "#a:b"',
    ]);
    // One bad channel in a list is reported at its index; the good one beside it is no problem.
    expect(problems(withSections('  - qq: { group: 1 }', '    irc: ["#ok", "bad chan"]'))).toEqual([
      'c.yaml:7:18: mappings[0].irc[1]: expected an IRC channel name such as "#qq" (no spaces, commas or colons), got "bad chan"',
    ]);
    expect(problems(withSections('  - qq: { group: "abc" }', '    irc: "#a"'))).toEqual([
      'c.yaml:6:18: mappings[0].qq.group: expected a positive integer, got "abc"',
    ]);
    expect(problems(withSections('  - qq: { group: 1 }', '    irc: "#a"', '    telegram: "chat"', 'telegram: { token: "1:a" }'))[0]).toMatch(
      /^c\.yaml:8:15: mappings\[0\]\.telegram: .*Telegram chat id/,
    );
  });

  it('IRC channels are one room however they are cased (#Foo[] is #foo[]); []{} stay apart, as CASEMAPPING=ascii servers keep them', () => {
    expect(problems(withSections('  - qq: { group: 1 }', '    irc: "#Foo[]"', '  - qq: { group: 2 }', '    irc: "#foo[]"'))).toEqual([
      'c.yaml:9:10: mappings[1].irc: irc room "#foo[]" is already mapped in link 1; a room may belong to one link only',
    ]);
    const c = parseConfig(withSections('  - qq: { group: 1 }', '    irc: "#Foo[]"'), 'c.yaml', {});
    const routes = new MappingRouteTable(c.mappings);
    expect(routes.rooms('irc')).toEqual(['#foo[]']);
    for (const spelling of ['#Foo[]', '#foo[]', '#FOO[]']) {
      expect(routes.targetsFor({ network: 'irc', room: spelling })).toEqual([{ network: 'qq', room: 'group:1', flags: { readOnly: false } }]);
    }
    expect(routes.targetsFor({ network: 'irc', room: '#foo{}' })).toEqual([]);
    expect(routes.targetsFor({ network: 'irc', room: '#foo' })).toEqual([]);
  });
});
