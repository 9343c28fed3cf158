"""A rebuild's writer (app/search/index/bulk.py and postings.py) writes the files Whoosh's own
segment writer writes for the same documents and codec, byte for byte: the same terms, posting
blocks, spelling words with their document frequencies, lengths and columns; the stored fields
(compressed with a smaller zlib state) read back the same."""

import random
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import CLEAR, SegmentWriter

from app.search.index.bulk import BulkWriter, small_zlib
from app.search.index.schema import SCHEMA

WORDS = [
    *("vpn", "access", "secure", "gateway", "enterprise", "backup", "backups", "monitoring"),
    *("database", "databases", "managed", "postgres", "kubernetes", "cluster", "storage"),
    *("object", "archive", "café", "straße", "naïve", "ÅNGSTRÖM", "running", "runs"),
    *("runner", "v1.2.3", "42", "x", "zz", "the", "and", "of", "to"),
]


def _text(rng: random.Random, most: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, most)))


def _documents() -> list[dict]:
    """Offers and articles with every kind of value: shared and unique words, terms in more
    documents than one posting block holds (128), empty and missing fields."""
    rng = random.Random(16)
    documents = []
    for number in range(400):
        code = f"OFF-{number:04d}"
        document = {
            "key": f"offer:{code}",
            "type": "offer",
            "code": code,
            "offer_id": number + 1,
            "revision": rng.randint(1, 3),
            "status": rng.choice(["published", "retiring"]),
            "name": _text(rng, 4) + f" unique{number}",
            "code_words": code.replace("-", " "),
            "summary": _text(rng, 12),
            "description": _text(rng, 60) if number % 7 else "",
            "category": rng.choice(["Network", "Storage", "Databases", ""]),
            "kind": "service",
            "billing": "monthly",
            "currency": "EUR",
            "group_ids": "1,2",
            "pilot_group_ids": "",
            "canary": number % 5 == 0,
            "price": None if number % 3 else f"{number}.50",
            "published_at": datetime(2026, 1, 1) + timedelta(hours=number),
        }
        documents.append(document)
    for number in range(1, 30):
        documents.append(
            {
                "key": f"article:{number}",
                "type": "article",
                "article_id": number,
                "name": _text(rng, 6),
                "description": _text(rng, 80),
                "code_words": "OFF 0001" if number % 2 else "",
                "offer_codes": "OFF-0001" if number % 2 else "",
                "updated_at": datetime(2026, 2, 1),
            }
        )
    return documents


def _build(folder: Path, writer_class, codec) -> tuple[dict[str, bytes], list[dict]]:
    """The files of the index, those packed in its segment's compound file one by one (the
    compound file's own directory records when each was written), with the random segment id
    left out; and the stored fields of every document."""
    folder.mkdir()
    storage = FileStorage(str(folder))
    ix = storage.create_index(SCHEMA, indexname="MAIN")
    writer = writer_class(ix, codec=codec)
    for document in _documents():
        writer.add_document(**document)
    writer.commit(mergetype=CLEAR, optimize=True)
    with ix.reader() as reader:
        segment = reader.segment()
        stored = list(reader.all_stored_fields())
    segment_id = segment.segid
    compound = segment.open_compound_file(storage)
    files = {name: compound.open_file(name).read() for name in compound.list()}
    files.update({path.name: path.read_bytes() for path in folder.glob("*.toc")})
    compound.close()
    files = {
        name.replace(segment_id, "<segment>"): content.replace(segment_id.encode(), b"<segment>")
        for name, content in files.items()
    }
    return files, stored


@pytest.mark.parametrize("compression", [0, 3], ids=["uncompressed (a rebuild's)", "zlib 3"])
def test_bulk_writer_writes_whooshs_files(tmp_path, compression):
    ours, our_stored = _build(tmp_path / "bulk", BulkWriter, W3Codec(compression=compression))
    whooshs, whoosh_stored = _build(
        tmp_path / "whoosh", SegmentWriter, W3Codec(compression=compression)
    )
    assert sorted(ours) == sorted(whooshs)
    assert {name.rsplit(".", 1)[-1] for name in ours} == {"toc", "trm", "pst", "col"}
    for name, content in whooshs.items():
        if not name.endswith("._stored.col"):
            assert ours[name] == content, name
    assert len(our_stored) == 429
    assert our_stored == whoosh_stored


def test_a_rebuild_writes_uncompressed_postings(tmp_path):
    storage = FileStorage(str(tmp_path))
    ix = storage.create_index(SCHEMA, indexname="MAIN")
    writer = BulkWriter(ix)
    writer.add_document(key="offer:A", type="offer", code="A", name="VPN access")
    writer.commit(mergetype=CLEAR)
    with ix.reader() as reader:
        assert reader.segment().codec()._compression == 0  # noqa: SLF001
        assert list(reader.postings("name", "vpn").all_ids()) == [0]
        assert reader.doc_frequency("spell_name", "access") == 1
        assert reader.stored_fields(0)["name"] == "VPN access"


def test_small_zlib_is_read_by_zlib():
    data = ("Managed PostgreSQL, backups and monitoring. " * 200).encode()
    assert zlib.decompress(small_zlib(data, 3)) == data
    assert len(small_zlib(data, 3)) < len(data) / 10


def test_a_rebuild_replaces_the_segments_already_there(tmp_path):
    """Committed as a merge would be asked to, the rebuild still keeps only its own documents."""
    ix = FileStorage(str(tmp_path)).create_index(SCHEMA, indexname="MAIN")
    for code in ("OLD-1", "OLD-2"):  # two segments of an index kept current document by document
        writer = ix.writer()
        writer.add_document(key=f"offer:{code}", type="offer", code=code, name="old offer")
        writer.commit()
    writer = BulkWriter(ix)
    writer.add_document(key="offer:NEW-1", type="offer", code="NEW-1", name="new offer")
    writer.commit(optimize=True)
    with ix.reader() as reader:
        assert [fields["code"] for fields in reader.all_stored_fields()] == ["NEW-1"]
        assert len(ix._segments()) == 1  # noqa: SLF001
