'use strict';
// The matrix bot SDK only touches these on its end-to-end-encryption path, which qqbridge never
// enables. Constructing any of them means something asked for E2EE: fail loudly.
class Unavailable {
  constructor() {
    throw new Error('end-to-end encryption unavailable: qqbridge does not support encrypted Matrix rooms');
  }
}
const names = [
  'Attachment', 'DeviceId', 'DeviceKeyId', 'DeviceLists', 'EncryptedAttachment', 'EncryptionSettings',
  'OlmMachine', 'RoomId', 'ServerName', 'UserId', 'Signatures', 'Versions',
];
for (const n of names) module.exports[n] = class extends Unavailable {};
module.exports.StoreType = { Sled: 0, Sqlite: 1 };
module.exports.RequestType = {};
module.exports.getVersions = () => { throw new Error('end-to-end encryption unavailable'); };
