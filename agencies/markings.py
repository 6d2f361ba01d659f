"""Handling markings (TLP 2.0 and caveats) and the audience fields every shared item carries."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class TLP(models.TextChoices):
    """Traffic Light Protocol 2.0 (FIRST), always written in capitals with the prefix."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber_strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"

    @classmethod
    def restricted(cls) -> set[TLP]:
        """Levels whose text never goes into an email or other open channel."""
        return {cls.AMBER, cls.AMBER_STRICT, cls.RED}


class Caveat(models.TextChoices):
    LES = "LES", "LES"
    FOUO = "FOUO", "FOUO"


CAVEAT_DESCRIPTIONS = {
    Caveat.LES: "Law enforcement sensitive: only people with law-enforcement status may read the full text.",
    Caveat.FOUO: "For official use only: not for public release.",
}


class MarkedItem(models.Model):
    """Markings and audience. Who may see a marked item is decided by `agencies.visibility` alone.

    The audience is a union: an agency is in it if it is named, or its level, its discipline or
    its jurisdiction (or one above it) is named. Named people are the only audience of TLP:RED.
    """

    tlp = models.CharField("TLP", max_length=20, choices=TLP.choices, default=TLP.AMBER)
    caveats = ArrayField(
        models.CharField(max_length=10, choices=Caveat.choices), default=list, blank=True, help_text="LES, FOUO"
    )
    originating_agency = models.ForeignKey(
        "agencies.Agency", on_delete=models.PROTECT, related_name="originated_%(app_label)s_%(class)s"
    )
    audience_agencies = models.ManyToManyField(
        "agencies.Agency", blank=True, related_name="audience_of_%(app_label)s_%(class)s"
    )
    audience_levels = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    audience_disciplines = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    audience_jurisdictions = models.ManyToManyField(
        "agencies.Jurisdiction", blank=True, related_name="audience_of_%(app_label)s_%(class)s"
    )
    audience_people = models.ManyToManyField(
        "agencies.User", blank=True, related_name="named_audience_of_%(app_label)s_%(class)s"
    )
    tearline = models.TextField(
        blank=True,
        help_text="The releasable part: the essential facts without sensitive sources or details. "
        "People who may not read the full text (for example LES to someone without law-enforcement "
        "status) see this instead.",
    )

    class Meta:
        abstract = True

    @property
    def tlp_label(self) -> str:
        return TLP(self.tlp).label

    @property
    def caveat_labels(self) -> list[str]:
        return [Caveat(c).label for c in self.caveats]

    @property
    def is_les(self) -> bool:
        return Caveat.LES in self.caveats

    @property
    def is_restricted(self) -> bool:
        return self.tlp in TLP.restricted() or self.is_les
