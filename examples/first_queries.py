"""First steps with systables through the official RethinkDB Python driver:
create a database and a table, insert, read, filter, update, aggregate, delete.

    pip install rethinkdb==2.4.10.post1
    python examples/first_queries.py --host 127.0.0.1 --port 28015
"""

from __future__ import annotations

import argparse
import uuid

from rethinkdb import r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=28015)
    parser.add_argument("--password", default="")
    args = parser.parse_args()

    conn = r.connect(host=args.host, port=args.port, password=args.password)
    db = "shop_" + uuid.uuid4().hex[:6]  # a fresh database, dropped at the end
    r.db_create(db).run(conn)
    orders = r.db(db).table("orders")
    r.db(db).table_create("orders").run(conn)

    result = orders.insert([
        {"id": 1, "customer": "ann", "total": 31.5, "items": ["tea", "cup"]},
        {"id": 2, "customer": "bob", "total": 12.0, "items": ["tea"]},
        {"id": 3, "customer": "ann", "total": 8.25, "items": ["scone"]},
    ]).run(conn)
    print("inserted:", result["inserted"])

    print("order 2:", orders.get(2).run(conn))
    print("large orders:", list(orders.filter(r.row["total"] > 10).order_by("id")["id"].run(conn)))
    print("spent per customer:", orders.group("customer").sum("total").run(conn))

    orders.get(3).update({"total": r.row["total"] * 2}).run(conn)
    print("order 3 after the update:", orders.get(3)["total"].run(conn))

    print("orders with tea:", orders.filter(lambda o: o["items"].contains("tea")).count().run(conn))
    print("deleted:", orders.filter({"customer": "bob"}).delete().run(conn)["deleted"])

    r.db_drop(db).run(conn)
    conn.close()


if __name__ == "__main__":
    main()
