"""Search: the Whoosh index of live offers and published knowledge articles (index/), the
search service the page and the API share (services.py, over query.py, matching.py,
suggestions.py, visibility.py, facets.py, results.py, highlight.py and the SQL fallback in
fallback.py), the /search page (views.py) and `flask search reindex` (cli.py).

`create_app` installs the listeners (index/listeners.py) that keep the index current after every
commit."""
