// Usage: node feeds.js HOST PORT
// Changefeeds through the official JavaScript driver: a table feed sees 1,000
// inserts made on another connection, in commit order, with include_states and
// include_initial; a point feed sees an update and a delete; prints one JSON line.
const r = require('rethinkdb');

async function take(cursor, n) {
  const out = [];
  while (out.length < n) out.push(await cursor.next());
  return out;
}

async function main() {
  const [host, port] = process.argv.slice(2);
  const conn = await r.connect({host, port: Number(port)});
  const writer = await r.connect({host, port: Number(port)});
  const db = 'jsfeeds_' + Math.random().toString(36).slice(2, 10);
  await r.dbCreate(db).run(conn);
  await r.db(db).tableCreate('t').run(conn);
  const t = r.db(db).table('t');
  await t.insert({id: -1, v: 'before'}).run(conn);
  const out = {};

  const feed = await t.changes({includeInitial: true, includeStates: true}).run(conn);
  const head = await take(feed, 3);  // initializing, the initial row, ready
  out.head = head;
  for (let start = 0; start < 1000; start += 100) {
    const batch = [];
    for (let i = start; i < start + 100; i++) batch.push({id: i, v: i});
    await t.insert(batch).run(writer);
  }
  const changes = await take(feed, 1000);
  out.inserted = changes.map((c) => c.new_val.id);
  out.all_new = changes.every((c) => c.old_val === null);
  await feed.close();

  const point = await t.get(5).changes().run(conn);
  await t.get(5).update({v: 'five'}).run(writer);
  await t.get(5).delete().run(writer);
  out.point = await take(point, 2);
  await point.close();

  await r.dbDrop(db).run(conn);
  await writer.close();
  await conn.close();
  console.log(JSON.stringify(out));
}

main().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
