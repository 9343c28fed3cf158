"""Search: the Whoosh index of live offers and published knowledge articles (index.py), the
search service the page and the API share (services.py), the /search page (views.py) and
`flask search reindex` (cli.py).

Importing the package installs the session listeners that keep the index current after every
commit (the app imports it when it registers the search blueprint)."""

from .index import install_listeners

install_listeners()
