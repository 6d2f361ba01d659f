"""Pages of long lists that cost the same however long the list is: a page reads one row more than it
shows (to know whether another page follows), and the list is counted only up to COUNT_LIMIT rows.

Counting everything a person may see (tens of thousands of products, each through the visibility
policy) cost more than the page itself; nobody reads past the first pages of such a list without
narrowing it, so past the limit a list says "more than 1,000" and its pages go on by "next".
"""

from __future__ import annotations

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_LIMIT = 1000
BIGINT_MAX = 2**63 - 1  # PostgreSQL's bigint: ids, and OFFSET


class RowSource:
    """A list read one page at a time (`rows(bottom, top)`, as a slice), whose length is known without
    reading it: a paginator reads only the page's rows through it."""

    def __len__(self) -> int:
        raise NotImplementedError

    def rows(self, bottom: int, top: int) -> list:
        raise NotImplementedError


def capped_count(rows, limit: int | None = None) -> tuple[int, bool]:
    """(how many rows, whether that is exact): counted up to `limit` (COUNT_LIMIT) in one query that
    stops after `limit + 1` rows; past the limit, (limit, False)."""
    limit = COUNT_LIMIT if limit is None else limit
    if not isinstance(rows, QuerySet):
        return min(len(rows), limit), len(rows) <= limit
    counted = rows.order_by()[: limit + 1].count()
    return min(counted, limit), counted <= limit


class CappedPaginator(Paginator):
    """A Django Paginator over a list it never counts past `count_limit` rows.

    `count` is exact when `count_is_exact`, else the limit ("more than"); `num_pages` is None when
    unknown. A page exists if it has rows (or is the first); `max_rows`, if given, ends the list
    there (a search that ranks a bounded set of candidates). Without a count past the limit, an
    address past the end shows the first page (`get_page`) rather than the last.
    """

    def __init__(self, object_list, per_page, *, count_limit: int | None = None, max_rows: int | None = None):
        super().__init__(object_list, per_page)
        self.count_limit = COUNT_LIMIT if count_limit is None else count_limit
        self.max_rows = max_rows
        self._known_count: int | None = None

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        if self._known_count is not None:
            return self._known_count, True
        count, exact = capped_count(self.object_list, self.count_limit)
        if self.max_rows is not None and count >= self.max_rows:
            return self.max_rows, exact and count == self.max_rows
        return count, exact

    @property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_is_exact(self) -> bool:
        return self._counted[1]

    @property
    def count_text(self) -> str:
        return f"{self.count:,}"

    @property
    def count_label(self) -> str:
        """The count as a page says it: "31", or "more than 1,000"."""
        return self.count_text if self.count_is_exact else f"more than {self.count_text}"

    @property
    def num_pages(self) -> int | None:
        if not self.count_is_exact:
            return None
        return max(1, -(-self.count // self.per_page))

    @property
    def page_range(self):
        return range(1, (self.num_pages or 0) + 1)

    def validate_number(self, number) -> int:
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number * self.per_page >= BIGINT_MAX:  # no list has rows that far (PostgreSQL's OFFSET is a bigint)
            raise EmptyPage(self.error_messages["no_results"])
        if number > 1 and self.max_rows is not None and (number - 1) * self.per_page >= self.max_rows:
            raise EmptyPage(self.error_messages["no_results"])
        return number

    def page(self, number) -> CappedPage:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page + 1
        if isinstance(self.object_list, RowSource):
            rows = self.object_list.rows(bottom, top)
        else:
            rows = list(self.object_list[bottom:top])
        room = self.per_page if self.max_rows is None else min(self.per_page, self.max_rows - bottom)
        shown = rows[:room]
        if not shown and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        rows_follow = len(rows) > len(shown)
        if not rows_follow and "_counted" not in self.__dict__:
            # This page shows the end of the list: its length is known without counting.
            self._known_count = bottom + len(shown)
        end = bottom + len(shown)
        has_next = rows_follow and len(shown) == self.per_page and (self.max_rows is None or end < self.max_rows)
        return CappedPage(shown, number, self, has_next=has_next)

    def get_page(self, number) -> CappedPage:
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages or 1)


class CappedPage(Page):
    def __init__(self, object_list, number, paginator, *, has_next: bool):
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def start_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + 1 if self.object_list else 0

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)
