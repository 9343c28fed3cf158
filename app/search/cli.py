"""`flask search reindex` (rebuild the index from the database) and `flask search status`."""

from __future__ import annotations

import click
from flask import current_app

from .index import store, writer


@click.group("search")
def search() -> None:
    """The search index of offers and knowledge articles."""


@search.command("reindex")
def reindex() -> None:
    """Rebuild the whole search index from the database."""
    if _postgres():
        return
    total = writer.count_documents()
    try:
        with click.progressbar(
            length=max(total, 1), label="Indexing offers and articles", show_pos=True
        ) as bar:
            counts = writer.rebuild(progress=bar.update)
            if not total:
                bar.update(1)
    except store.IndexUnavailable as error:
        raise click.ClickException(f"Could not rebuild the search index: {error}.") from error
    click.echo(
        f"Indexed {counts['offers']} offers and {counts['articles']} articles "
        f"in {store.index_dir()}."
    )


@search.command("status")
def status() -> None:
    """Say whether the index is usable, and how many documents it holds."""
    if _postgres():
        return
    state = store.status()
    if state["available"]:
        click.echo(
            f"Search index {state['path']}: {state['documents']} documents, "
            f"built {state.get('built_at', 'at an unknown time')}."
        )
    else:
        raise click.ClickException(f"Search index unavailable: {state['reason']}.")


def _postgres() -> bool:
    """With SEARCH_BACKEND=postgres there is no index: say so."""
    if current_app.config.get("SEARCH_BACKEND") != "postgres":
        return False
    click.echo(
        "SEARCH_BACKEND=postgres: PostgreSQL answers searches from columns it keeps current "
        "itself; there is no index to rebuild."
    )
    return True
