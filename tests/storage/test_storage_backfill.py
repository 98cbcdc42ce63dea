from __future__ import annotations

from typing import Any

from systables.storage import IndexMeta, Storage


def by_group(doc: dict) -> list[Any]:
    return [doc["group"]]


def test_copy_table_between_engines(tmp_path: Any) -> None:
    source = Storage.open(tmp_path / "a")
    target = Storage.open(tmp_path / "b")
    src = source.table(source.create_table(source.create_db("d").id, "t").id)
    dst = target.table(target.create_table(target.create_db("d").id, "t").id)
    for t in (src, dst):
        t.create_index(IndexMeta("group", b"g"), by_group)
    src.apply([(i, {"id": i, "group": i % 10, "s": "x" * (i % 50)}) for i in range(5000)])
    src.apply([(f"k{i}", {"id": f"k{i}", "group": -1}) for i in range(100)])

    chunks = src.stream_range(chunk_rows=700)
    first = next(chunks)
    src.apply([(1, None), ("late", {"id": "late", "group": 3})])  # after the stream's snapshot
    progress = [first.progress]
    dst.ingest([first])
    resume_from = first.last_key
    for chunk in chunks:
        progress.append(chunk.progress)
        dst.ingest_chunk(chunk.items)
        if chunk.last_key is None:
            break
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert dst.count() == 5100 and dst.get(1) is not None and dst.get("late") is None

    src.apply([(1, {"id": 1, "group": 1, "s": "x"}), ("late", None)])  # back to the streamed state
    assert _all_docs(src) == _all_docs(dst)
    assert _index(src) == _index(dst)

    # resuming from a chunk's last key yields exactly the rows after it
    rest = [k for c in src.stream_range(lo_key_bytes=resume_from + b"\x00") for k, _ in c.items]
    assert len(rest) == 5100 - 700
    source.close()
    target.close()


def _all_docs(t: Any) -> list[dict]:
    scan, out = t.scan(), []
    while chunk := scan.next_chunk(1000):
        out += chunk
    return out


def _index(t: Any) -> list[tuple[Any, Any]]:
    scan, out = t.index_scan("group"), []
    while chunk := scan.next_chunk(1000):
        out += [(v, d["id"]) for v, d in chunk]
    return out
