import t from 'tap';
import { keepNextTickShapes } from '../../../src/server/tick-shapes.js';

t.test("the object kept is one of Node's tick objects, with the async id keys nextTick gives it", async (t) => {
  const tick = await keepNextTickShapes();
  const keys = Object.getOwnPropertySymbols(tick).map((symbol) => symbol.description);
  t.ok(keys.includes('async_id_symbol'), `symbol keys: ${keys.join(', ')}`);
  t.ok(keys.includes('trigger_async_id_symbol'));
  t.type((tick as { callback?: unknown }).callback, 'function', 'it carries the callback it ran');
});
