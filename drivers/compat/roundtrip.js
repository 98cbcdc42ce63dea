// Usage: node roundtrip.js HOST PORT [PASSWORD]
// Exercises the official JavaScript driver against a server and prints one JSON line of results.
const r = require('rethinkdb');

async function main() {
  const [host, port, password] = process.argv.slice(2);
  const conn = await r.connect({host, port: Number(port), password: password || ''});
  const db = 'js_' + Math.random().toString(36).slice(2, 10);
  const out = {};
  out.dbCreate = (await r.dbCreate(db).run(conn)).dbs_created;
  out.tableCreate = (await r.db(db).tableCreate('t').run(conn)).tables_created;
  const t = r.db(db).table('t');
  const docs = [];
  for (let i = 0; i < 1000; i++) docs.push({id: i, even: i % 2 === 0, name: 'n' + i});
  out.inserted = (await t.insert(docs).run(conn)).inserted;
  out.get = await t.get(7).run(conn);
  const cursor = await t.filter({even: true}).run(conn, {maxBatchRows: 50});
  out.filtered = (await cursor.toArray()).length;
  out.updated = (await t.get(7).update({name: 'seven'}).run(conn)).replaced;
  out.afterUpdate = await t.get(7)('name').run(conn);
  out.deleted = (await t.filter(r.row('id').lt(10)).delete().run(conn)).deleted;
  out.count = await t.count().run(conn);
  const early = await r.range(100000).run(conn, {maxBatchRows: 10});
  out.first = await early.next();
  await early.close();
  out.server = (await conn.server()).name !== undefined;
  await r.dbDrop(db).run(conn);
  await conn.close();
  console.log(JSON.stringify(out));
}

main().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
