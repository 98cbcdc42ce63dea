// Usage: node geo.js HOST PORT
// Geospatial queries through the official JavaScript driver; prints one JSON line of results.
const r = require('rethinkdb');

async function main() {
  const [host, port] = process.argv.slice(2);
  const conn = await r.connect({host, port: Number(port)});
  const db = 'jsgeo_' + Math.random().toString(36).slice(2, 10);
  await r.dbCreate(db).run(conn);
  await r.db(db).tableCreate('places').run(conn);
  const t = r.db(db).table('places');
  const out = {};
  out.point = await r.point(-122.423246, 37.779388).run(conn);
  out.distance = await r.distance(r.point(-122, 37), r.point(-123, 37)).coerceTo('string').run(conn);
  out.circle = await r.circle([0, 0], 1, {numVertices: 3}).run(conn);
  out.includes = await r.polygon([1, 1], [2, 1], [2, 2], [1, 2]).includes(r.point(2, 2)).run(conn);
  out.geojson = await r.geojson({type: 'Point', coordinates: [1, 2]}).toGeojson().run(conn);
  await t.insert([{id: 1, at: r.point(0, 0)}, {id: 2, at: r.point(1, 0)}, {id: 3, at: r.point(5, 5)}]).run(conn);
  await t.indexCreate('at', {geo: true}).run(conn);
  await t.indexWait('at').run(conn);
  const inside = await t.getIntersecting(r.circle([0.5, 0], 100000), {index: 'at'}).run(conn);
  out.intersecting = (await inside.toArray()).map((row) => row.id).sort();
  const near = await t.getNearest(r.point(0.9, 0), {index: 'at', maxResults: 2, unit: 'km'}).run(conn);
  out.nearest = near.map((hit) => [hit.doc.id, hit.dist]);
  await r.dbDrop(db).run(conn);
  await conn.close();
  console.log(JSON.stringify(out));
}

main().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
