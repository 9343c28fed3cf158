"""PostgreSQL full-text search: weighted tsvector columns on offers and knowledge articles,
generated (so always current, in the transaction that changes the row), GIN indexes on them, and
pg_trgm indexes on the offers' texts and the articles' titles for typo matching and "did you mean". PostgreSQL only: on SQLite
this migration changes nothing (Whoosh is the search backend there).

Revision ID: c4e8a1f3b7d2
Revises: c4e6a8b0d2f3
Create Date: 2026-12-07 14:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4e8a1f3b7d2"
down_revision = "c4e6a8b0d2f3"
branch_labels = None
depends_on = None

# Each text field as English stems (stemming) and as plain lower-case words (prefixes, words
# the English dictionary drops), with the weight of the field: name and code A, summary B,
# description or body C. The same fields, and the same order of weights, as the Whoosh schema.
OFFER_FIELDS = (
    ("name", "A", True),
    ("replace(replace(code, '-', ' '), '_', ' ')", "A", False),
    ("summary", "B", True),
    ("description", "C", True),
)
ARTICLE_FIELDS = (("title", "A", True), ("body", "C", True))


def _vector(fields, lower) -> str:
    parts = []
    for expression, weight, stemmed in fields:
        text = lower(f"coalesce({expression}, '')")
        if stemmed:
            parts.append(f"setweight(to_tsvector('english'::regconfig, {text}), '{weight}')")
        parts.append(f"setweight(to_tsvector('simple'::regconfig, {text}), '{weight}')")
    return " || ".join(parts)


def _lower(bind):
    """lower() under an ICU collation where there is one: a database created with the C locale
    would otherwise leave "Ü" upper case, and "übersetzung" would never find it."""
    icu = bind.execute(sa.text("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'")).first()
    if icu:
        return lambda text: f'lower({text} COLLATE "und-x-icu")'
    return lambda text: f"lower({text})"


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    lower = _lower(bind)
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, fields in (("service_offers", OFFER_FIELDS), ("knowledge_articles", ARTICLE_FIELDS)):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({_vector(fields, lower)}) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)")
    for table, column in (
        ("service_offers", "name"),
        ("service_offers", "summary"),
        ("service_offers", "description"),
        ("knowledge_articles", "title"),
    ):
        op.execute(
            f"CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin ({column} gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in (
        "ix_service_offers_name_trgm",
        "ix_service_offers_summary_trgm",
        "ix_service_offers_description_trgm",
        "ix_knowledge_articles_title_trgm",
        "ix_service_offers_search_vector",
        "ix_knowledge_articles_search_vector",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for table in ("service_offers", "knowledge_articles"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
