"""Page arithmetic for results paged by a service rather than by `db.paginate`.

templates/macros.html's `pager()` reads `page`, `pages`, `total`, `has_prev`, `has_next`,
`prev_num` and `next_num`; `items` is the page's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Paged:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page)) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


@dataclass
class RowPage(Paged):
    items: list[Any]
    total: int
    page: int
    per_page: int
