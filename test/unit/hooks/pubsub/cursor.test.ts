import t from 'tap';
import { CursorStore } from '../../../../src/hooks/pubsub/cursor.js';
import { databases } from '../../../helpers/database.js';

for (const target of await databases(t)) {
  t.test(`${target.name}: one replay id per feed, replaced on save, gone on clear`, async (t) => {
    const db = await target.open(t, { migrate: true });
    const cursors = new CursorStore(db);
    t.equal(await cursors.load('salesforce-pubsub:/data/ChangeEvents'), null);
    const id = Buffer.from([0, 0, 0, 0, 0, 0x1f, 0xa2, 0xff]);
    await cursors.save('salesforce-pubsub:/data/ChangeEvents', id, 1_718_000_000_123);
    await cursors.save('salesforce-pubsub:/data/Other__chn', Buffer.from([1]), 1_718_000_000_000);
    t.same(await cursors.load('salesforce-pubsub:/data/ChangeEvents'), { replayId: id, updatedAt: 1_718_000_000_123 });
    await cursors.save('salesforce-pubsub:/data/ChangeEvents', Buffer.from([2]), 1_718_000_001_000);
    t.same(await cursors.load('salesforce-pubsub:/data/ChangeEvents'), { replayId: Buffer.from([2]), updatedAt: 1_718_000_001_000 });
    await cursors.clear('salesforce-pubsub:/data/ChangeEvents');
    t.equal(await cursors.load('salesforce-pubsub:/data/ChangeEvents'), null);
    t.same(await cursors.load('salesforce-pubsub:/data/Other__chn'), { replayId: Buffer.from([1]), updatedAt: 1_718_000_000_000 });
  });
}
