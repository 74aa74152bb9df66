import { describe, expect, it } from 'vitest';
import {
  bkn, formatSalt, hash33, hashN, hashO, hashP, hashQ, HASH_VERSIONS, listHash, md5Password, parseSalt, saltFromUin, time33,
} from '../../../../src/connectors/qq/webqq/protocol-crypto.js';

const PT_SEED = '636683b80e7b0b46e26cc6b07c33432a4ab692e52f96e105d4d06fabd0735986';
const PT_IQQ = '5d4c090f4a91cf44083ce8e274345e44e523c21341b41cf135f15b3b8cfc1329';
const PT_116 = '2c0d8375e6c09f2af3ce60c6e081bdf4db271a14d0d85060';

describe('md5 password scheme (§1.1.3)', () => {
  it('matches the reference vectors', () => {
    expect(md5Password('123456', parseSalt('\\x00\\x00\\x00\\x00\\xa5\\x13\\xed\\x18'), '!UGX')).toBe('BB28CA7D6038207184922F960B88B940');
    expect(md5Password('password', parseSalt('\\x00\\x00\\x00\\x00\\x07\\x60\\x9b\\x78'), 'atzt')).toBe('7F13E6416C4528BE63B0DD7A82B7E829');
  });
  it('uppercases the verify code (atzt ≡ ATZT)', () => {
    const salt = parseSalt('\\x00\\x00\\x00\\x00\\x07\\x60\\x9b\\x78');
    expect(md5Password('password', salt, 'ATZT')).toBe(md5Password('password', salt, 'atzt'));
  });
  it('uses the low byte of UTF-16 units for non-ASCII passwords', () => {
    const salt = saltFromUin(2769546520);
    // 'Ā' (U+0100) has low byte 0x00, 'ā' (U+0101) 0x01: equal low bytes give equal p.
    expect(md5Password('\u0141', salt, '!UGX')).toBe(md5Password('\u0041', salt, '!UGX'));
    expect(md5Password('密码', salt, '!UGX')).not.toBe(md5Password('123456', salt, '!UGX'));
  });
});

describe('salt', () => {
  it('derives the uin salt exactly as ptlogin escapes it', () => {
    expect(Array.from(saltFromUin(2769546520))).toEqual(Array.from(parseSalt('\\x00\\x00\\x00\\x00\\xa5\\x13\\xed\\x18')));
    expect(formatSalt(saltFromUin(0x07609b78))).toBe('\\x00\\x00\\x00\\x00\\x07\\x60\\x9b\\x78');
  });
  it('parses a random salt', () => {
    expect(Array.from(parseSalt('\\x96\\x00\\xb9\\xd6\\xcf\\x87\\xae\\xf4'))).toEqual([0x96, 0, 0xb9, 0xd6, 0xcf, 0x87, 0xae, 0xf4]);
  });
  it('rejects malformed salts with a clear error', () => {
    expect(() => parseSalt('\\x00\\x01')).toThrow(/8 \\xHH/);
  });
});

describe('list hashes (§2.13.2)', () => {
  const rows: Array<[number, string, string, string, string | null]> = [
    [2769546520, PT_SEED, '52E00C5006A20C53', '822BA632', 'AFABA5F8'],
    [1953024456, PT_SEED, '52310C2B06860C83', '51E082FC', 'F9F8F8F1'],
    [912536370, PT_IQQ, '097359275E7C5D79', '5861343F', 'CF9A9E99'],
    [123774072, PT_116, '0542542359EB5D33', 'E13E1735', 'C9969A95'],
    [2440652742, 'a', '61D4003A0028008D', '917967C6', 'FFFFFFFF'],
    [10000, '', '004500430068005B', '00002710', null],
  ];
  it.each(rows)('uin %i', (uin, pt, p, q, n) => {
    expect(hashP(uin, pt)).toBe(p);
    expect(hashQ(uin, pt)).toBe(q);
    if (n === null) expect(() => hashN(uin, pt)).toThrow();
    else expect(hashN(uin, pt)).toBe(n);
    expect(listHash('P', uin, pt)).toBe(p);
    expect(listHash('Q', uin, pt)).toBe(q);
  });
  const oRows: Array<[number, string, string]> = [
    [2769546520, PT_SEED, '0404000F0D07540D02550555065B010253070453510154090257050606030056025857020F07570500510F0F5005060056045607005F545652050503070E0E0F45554546455F4053165C47465947'],
    [1953024456, PT_SEED, '070A03050801560C0553065B0551040451060355520F57030751070701050358015252040D065003035F0C055503040151025509035551505004020504000D05405347474259435D155642405B46'],
    [912536370, PT_IQQ, '0C550656030F0351045808035655020707080A52570D56040403030D04570107530605035A03030607075103015A57030606500202520A530A5655550204020041534640415C4554195440475C44'],
    [123774072, PT_116, '035103530F070702570751030E510651510152570507540255070A005057510350520505005302035304540F0701040347564743405D4356135245465F45'],
    [2440652742, 'a', '5344554345425D4550125746465F44'],
    [10000, '', '41514343475E4254105543425F42'],
  ];
  it.each(oRows)('hashO uin %i', (uin, pt, o) => {
    expect(hashO(uin, pt)).toBe(o);
    expect(listHash('O', uin, pt)).toBe(o);
  });
  it('tries P, O, Q, N in that order', () => {
    expect([...HASH_VERSIONS]).toEqual(['P', 'O', 'Q', 'N']);
  });
});

describe('hash33 / time33 / bkn (§2.13.4)', () => {
  const rows: Array<[string, number, number, number]> = [
    ['hJ9GvNx*oIvLjP5I5dQ19KPa3zwxNI62eALLO*g2JLbKPYsZIRsnbJIxNe74NzQQ', 1178303247, 1178303247, 1860253716],
    ['@SoxMZ1bd4', 116069868, 116069868, 1016657201],
    ['', 0, 0, 5381],
    ['abc', 108966, 108966, 193485963],
  ];
  it.each(rows)('%s', (s, h, t, b) => {
    expect(hash33(s)).toBe(h);
    expect(time33(s)).toBe(t);
    expect(bkn(s)).toBe(b);
  });
});
