"""The plans of the three heaviest queries at the seeded size (EXPLAIN ANALYZE), and whether they use
indexes: the incident feed page, the product search, and the fan-out's recipients."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from dissemination.fanout import recipients_for
from dissemination.models import Dispatch
from eoc.selectors import feed_entries
from sharing.models import ThreatProduct
from sharing.selectors import ProductFilters, product_list

# Tables big enough that reading them whole is a design fault at this size.
BIG_TABLES = ("eoc_feedentry", "sharing_threatproduct", "dissemination_delivery", "agencies_user")


@dataclass
class Plan:
    title: str
    text: str

    @property
    def full_scans(self) -> list[str]:
        return sorted({t for t in re.findall(r"Seq Scan on (\w+)", self.text) if t in BIG_TABLES})

    @property
    def verdict(self) -> str:
        if self.full_scans:
            return f"reads whole tables: {', '.join(self.full_scans)}"
        return "uses indexes"

    def as_dict(self) -> dict:
        return {"title": self.title, "verdict": self.verdict, "plan": self.text}


def explain(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def heaviest(cast, search: str) -> list[Plan]:
    feed = feed_entries(person=cast.coordinator, incident_id=cast.incident.pk)[:51]
    search_page = product_list(person=cast.partner, filters=ProductFilters(q=search))[:50]
    dispatch = (
        Dispatch.objects.filter(item_type="sharing.threatproduct", created_by=cast.supervisor).order_by("-pk").first()
    )
    plans = [
        Plan("incident feed page (50 entries, EOC coordinator)", explain(feed)),
        Plan(f"product search ?q={search} (local partner)", explain(search_page)),
    ]
    if dispatch is not None:
        item = ThreatProduct.objects.get(pk=dispatch.item_id)
        people = recipients_for(dispatch, item).values("pk", "full_access")
        plans.append(Plan(f"fan-out recipients of dispatch {dispatch.pk}", explain(people)))
    return plans


def server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0].split()[0]
