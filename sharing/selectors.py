"""Reads that shape the fusion center's pages and API: product lists, search, detail, review queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db.models import (
    BigIntegerField,
    Case,
    Exists,
    ExpressionWrapper,
    F,
    Lookup,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.utils import timezone

from agencies.models import Role, User
from agencies.pagination import RowSource
from agencies.prepared import ArrayPlaceholder, PreparedReads, TextPlaceholder, is_placeholder
from agencies.visibility import person_may_see_anything, policy_key

from .models import ProductAttachment, ProductRead, ProductTransition, RetentionReview, ThreatProduct

# Search snippets mark matches with these private-use characters, never with HTML: the page escapes
# the snippet first and only then turns them into <mark>, so the text of a product cannot inject markup.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_STOP = "\ue001"


# The product list's own order (an index of the same order lets a page stop after its rows).
LIST_ORDER = (F("published_at").desc(nulls_last=True), F("created_at").desc(), F("pk").desc())
# A search ranks at most this many matches, the newest: finding them walks the list's index until they
# are found, and ranking reads each one's text. Past them a search says "more than" and asks to refine.
SEARCH_CANDIDATES = 200
RECENT_PRODUCTS = 20_000


@dataclass
class ProductFilters:
    """What a reader may narrow a product list by; every field optional."""

    q: str = ""
    kind: str = ""
    tlp: str = ""
    tag: str = ""
    state: str = ""
    originator: int | None = None
    published_from: date | None = None
    published_to: date | None = None
    include_expired: bool = False


def product_list(
    *, person: User, filters: ProductFilters | None = None, snippets: bool = True
) -> QuerySet[ThreatProduct]:
    """Products the person may see, filtered, searched and ranked; a fixed number of queries per page.

    Without a search, released versions only (current ones unless expired are asked for), newest
    first. With `q`, every state the person may see: the newest SEARCH_CANDIDATES matches ranked by
    relevance (title above summary above body), then one more match if there are more; those who see
    only a tearline are matched on the title and tearline alone. Each match comes with its `snippet`
    (the words around the match) unless `snippets` is false. The pages and the API read a search
    through `product_search`, the same query prepared once.
    """
    filters = filters or ProductFilters()
    if not person_may_see_anything(person):
        return ThreatProduct.objects.none()
    products = _filtered(person, filters)
    if not filters.q:
        return products.order_by(*LIST_ORDER)
    candidates = _candidates(person, filters, lambda: products)
    return _ranked(products, filters.q, candidates, candidates[SEARCH_CANDIDATES:], snippets=snippets)


def _filtered(person: User, filters: ProductFilters) -> QuerySet[ThreatProduct]:
    products = ThreatProduct.objects.visible_to(person).select_related("originating_agency")
    if filters.state:
        products = products.filter(state=filters.state)
    elif not filters.q:
        products = products.exclude(state__in=ThreatProduct.UNRELEASED_STATES).exclude(
            state=ThreatProduct.State.SUPERSEDED
        )
    if not filters.include_expired and not filters.q:
        products = products.current()
    if filters.kind:
        products = products.filter(kind=filters.kind)
    if filters.tlp:
        products = products.filter(tlp=filters.tlp)
    if filters.tag:
        products = products.filter(tags__contains=[filters.tag])
    if filters.originator:
        products = products.filter(originating_agency_id=filters.originator)
    if filters.published_from:
        products = products.filter(published_at__date__gte=filters.published_from)
    if filters.published_to:
        products = products.filter(published_at__date__lte=filters.published_to)
    return products


def _ranked(products: QuerySet[ThreatProduct], words, candidates, beyond, *, snippets: bool) -> QuerySet:
    """The candidates (ids) among `products`, ranked for the search words: through the policy again, in
    the same query. `beyond` is the one match past the ranked ones, if any: it comes last whatever its
    rank, so a page ending the list at SEARCH_CANDIDATES (as the views' do) never shows it, and its count
    says "more than"."""
    query = SearchQuery(words, search_type="websearch", config="english")
    rank = Case(
        When(full_access=True, then=Greatest(SearchRank(F("search_vector"), query), Value(0.0))),
        default=SearchRank(F("tearline_search_vector"), query),
    )
    ranked = (
        products.filter(AnyOf(F("pk"), candidates))
        .annotate(rank=rank, beyond=Case(When(AnyOf(F("pk"), beyond), then=Value(1)), default=Value(0)))
        .order_by("beyond", "-rank", "-published_at", "-pk")
    )
    if snippets:
        ranked = ranked.annotate(snippet=_snippet(query))
    return ranked


class AnyOf(Lookup):
    """`field = ANY(array)`: a list of ids as one parameter (an `__in` makes one parameter per id, so a
    prepared query could not take a list of another length)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # A list as an array (psycopg2 sends a tuple as a row); a placeholder as it is, for it to be found.
        rhs = self.rhs if is_placeholder(self.rhs) else list(self.rhs)
        return f"{lhs} = ANY(%s)", [*lhs_params, rhs]


@dataclass
class ProductSearch(RowSource):
    """A search as the pages and the API read it (`product_search`): its candidates, counted without a
    query, and its ranked pages, each read through a prepared query (`rows(bottom, top)`)."""

    candidates: list[int]
    fetch: Callable[[int, int], list[ThreatProduct]]

    def __len__(self) -> int:
        return len(self.candidates)

    def rows(self, bottom: int, top: int) -> list[ThreatProduct]:
        return self.fetch(bottom, top)


# A search's queries are prepared once per person's policy and filters (the words and candidates given at
# each search): building and compiling them, the policy three times over, cost more than running them.
# PostgreSQL still plans them at each search: its generic plan, one for any words, read twice the rows.
# About 130 KB per read kept: 256 of them, 33 MB at most.
_PREPARED_SEARCHES = PreparedReads(size=256, plan_once=False)
_WORDS = TextPlaceholder()
_CANDIDATES, _BEYOND = ArrayPlaceholder(), ArrayPlaceholder()


def product_search(
    *, person: User, filters: ProductFilters, snippets: bool = True, read_marks: bool = False
) -> ProductSearch:
    """`product_list` with search words (`filters.q`), read through prepared queries: the same rows, with
    the author and reviewer too, and `is_read` (for the person) if `read_marks`."""
    if not person_may_see_anything(person):
        return ProductSearch(candidates=[], fetch=lambda bottom, top: [])
    built: list[QuerySet[ThreatProduct]] = []

    def products() -> QuerySet[ThreatProduct]:  # built only when a query is: once per process and key
        if not built:
            built.append(_filtered(person, filters))
        return built[0]

    candidates = _candidates(person, filters, products)
    key = (*_search_key(person, filters), snippets, read_marks)

    def build() -> QuerySet:
        ranked = _ranked(products(), _WORDS, _CANDIDATES, _BEYOND, snippets=snippets)
        if read_marks:
            reads = ProductRead.objects.filter(product=OuterRef("pk"), person_id=person.pk)
            ranked = ranked.annotate(is_read=Exists(reads))
        return ranked.select_related("author", "reviewer")

    def fetch(bottom: int, top: int) -> list[ThreatProduct]:
        values = {_WORDS: filters.q, _CANDIDATES: candidates, _BEYOND: candidates[SEARCH_CANDIDATES:]}
        return _PREPARED_SEARCHES.rows(("page", *key), build, values, window=(bottom, top))

    return ProductSearch(candidates=candidates, fetch=fetch)


def _search_key(person: User, filters: ProductFilters) -> tuple:
    """What a search's queries are built from but its words: the person's part of the policy, their roles
    that let them see unreleased versions (ThreatProductQuerySet), the filters, and the sizes. Nothing in
    them reads the clock when there are search words."""
    shape = {name: value for name, value in vars(filters).items() if name != "q"}
    roles = person.has_role(Role.ANALYST, Role.SUPERVISOR)
    return (policy_key(person), roles, tuple(sorted(shape.items())), SEARCH_CANDIDATES, RECENT_PRODUCTS)


def _candidates(person: User, filters: ProductFilters, products: Callable[[], QuerySet[ThreatProduct]]) -> list[int]:
    """The ids of the newest SEARCH_CANDIDATES + 1 products among `products()` (the person's visible ones,
    filtered by `filters`) that match `filters.q`: matched through the GIN indexes (text or tearline),
    and those who read only the tearline must match on it."""
    words = SearchQuery(_WORDS, search_type="websearch", config="english")

    def build() -> QuerySet:
        matches = (
            products()
            .filter(Q(search_vector=words) | Q(tearline_search_vector=words))
            .filter(Q(full_access=True) | Q(tearline_search_vector=words))
        )
        return _newest(matches)

    return _PREPARED_SEARCHES.scalars(("candidates", *_search_key(person, filters)), build, {_WORDS: filters.q})


def _newest(matches: QuerySet[ThreatProduct]) -> QuerySet:
    """The ids of the newest SEARCH_CANDIDATES + 1 matches (a values list): looked for among the newest RECENT_PRODUCTS
    products first (ids grow as products are written), and among the older ones only if those hold too
    few, in one statement that stops as soon as it has them. The rows read stay bounded whatever
    PostgreSQL guesses of a search's matches (its guess for "denial-of-service" is twenty times too low,
    and it then read every match, 13,000 rows, to keep the newest)."""
    newest = ThreatProduct.objects.order_by("-pk").values("pk")[:1]
    recent = Q(pk__gt=ExpressionWrapper(Subquery(newest) - RECENT_PRODUCTS, output_field=BigIntegerField()))

    def newest_of(rows: QuerySet[ThreatProduct]) -> QuerySet:
        return rows.order_by(*LIST_ORDER).values_list("pk", flat=True)[: SEARCH_CANDIDATES + 1]

    found = newest_of(matches.filter(recent)).union(newest_of(matches.exclude(recent)), all=True)
    return found[: SEARCH_CANDIDATES + 1]


def _snippet(query: SearchQuery) -> Case:
    """The words around the match: of the body for those who read it in full, else of the tearline."""
    marks = {"config": "english", "start_sel": HIGHLIGHT_START, "stop_sel": HIGHLIGHT_STOP, "max_words": 35}
    return Case(
        When(full_access=True, then=SearchHeadline("body", query, min_words=15, **marks)),
        default=SearchHeadline("tearline", query, **marks),
    )


def product_detail(*, person: User, pk: int) -> ThreatProduct:
    """One product the person may see, with what its page shows; raises DoesNotExist otherwise."""
    return (
        ThreatProduct.objects.visible_to(person)
        .select_related("originating_agency", "author", "reviewer", "previous_version")
        .prefetch_related(
            Prefetch("transitions", queryset=ProductTransition.objects.select_related("by")),
            Prefetch("attachments", queryset=ProductAttachment.objects.order_by("uploaded_at")),
            "information_needs",
            "next_version",
        )
        .get(pk=pk)
    )


def review_queue(*, person: User) -> QuerySet[ThreatProduct]:
    """Products waiting for a supervisor of the person's center, oldest first; empty for others."""
    if not person.has_role(Role.SUPERVISOR):
        return ThreatProduct.objects.none()
    return (
        ThreatProduct.objects.visible_to(person)
        .filter(state=ThreatProduct.State.IN_REVIEW, originating_agency_id=person.agency_id)
        .select_related("author")
        .order_by("updated_at")
    )


def latest_version(product: ThreatProduct, *, person: User) -> ThreatProduct | None:
    """The newest released version of the product's series that the person may see, if newer."""
    if not product.number:
        return None
    return (
        ThreatProduct.objects.visible_to(person)
        .filter(number=product.number, version__gt=product.version)
        .exclude(state__in=ThreatProduct.UNRELEASED_STATES)
        .order_by("-version")
        .first()
    )


def versions_of(product: ThreatProduct, *, person: User) -> QuerySet[ThreatProduct]:
    """Every version of the product's series the person may see, newest first."""
    if not product.number:
        return ThreatProduct.objects.visible_to(person).filter(pk=product.pk)
    return ThreatProduct.objects.visible_to(person).filter(number=product.number).order_by("-version")


@dataclass
class RetentionFilters:
    """What the retention review queue may be narrowed by."""

    state: str = "open"
    due: str = ""  # "overdue", or "" for any due date
    number: str = ""


def retention_queue(*, person: User, filters: RetentionFilters | None = None) -> QuerySet[RetentionReview]:
    """The retention reviews of the person's center, due soonest first; empty unless a supervisor."""
    filters = filters or RetentionFilters()
    if not person.has_role(Role.SUPERVISOR):
        return RetentionReview.objects.none()
    reviews = RetentionReview.objects.filter(agency_id=person.agency_id).select_related("product", "decided_by")
    if filters.state:
        reviews = reviews.filter(state=filters.state)
    if filters.due == "overdue":
        reviews = reviews.filter(state=RetentionReview.State.OPEN, due_date__lt=timezone.localdate())
    if filters.number:
        reviews = reviews.filter(number__icontains=filters.number)
    return reviews.order_by("due_date", "pk")


def open_retention_review_count(*, person: User) -> int:
    """How many retention reviews wait for the person's center (0 unless a supervisor)."""
    return retention_queue(person=person).count()
