"""The floor: a minimal Flask + Jinja page rendering 20 offers from the same database, served by
the same gunicorn settings as the portal, so the portal's pages have a same-run comparison."""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, render_template_string

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Offers</title></head>
<body><main><h1>Offers</h1><ul>{% for row in rows %}
<li><a href="/offers/{{ row.id }}">{{ row.name }}</a>: {{ row.summary }}</li>{% endfor %}
</ul></main></body></html>"""

app = Flask(__name__)
engine = sa.create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
OFFERS = sa.text(
    "SELECT id, name, summary FROM service_offers WHERE status = 'published' ORDER BY name LIMIT 20"
)


@app.get("/")
def offers():
    with engine.connect() as connection:
        rows = connection.execute(OFFERS).all()
    return render_template_string(PAGE, rows=rows)
