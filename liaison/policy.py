"""The marking check of a relay: whether an item may be carried to the other side, and how.

It is shown to the liaison officer before approving and kept on the relay. It adds the relaying
rules to the one visibility policy (which still decides who reads the relayed copy):

- TLP:RED is never relayed: it goes to named people only;
- TLP:AMBER+STRICT only to an agency named in the item's audience;
- LES: people of the target with law-enforcement status read the full text, everyone else there
  gets the tearline; without a tearline the relay is refused;
- only a released item is relayed (a published product, not a draft, a superseded or retracted one).
The relayed copy keeps the source's markings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agencies.markings import TLP, Caveat
from agencies.models import Agency


@dataclass(frozen=True)
class MarkingCheck:
    allowed: bool
    # "full": everyone at the target who may see it reads the full text; "tearline": only people with
    # law-enforcement status do, the others read the tearline. Empty when refused.
    access: str
    reasons: list[str] = field(default_factory=list)

    @property
    def refusal(self) -> str:
        return " ".join(self.reasons) if not self.allowed else ""


def _named_in_audience(item, agency: Agency) -> bool:
    return any(a.pk == agency.pk for a in item.audience_agencies.all())


def check_markings(item, *, target: Agency, state: str = "", released: bool = True) -> MarkingCheck:
    """The check of relaying `item` (a product version, a feed entry, anything with markings) to `target`."""
    if not released:
        return MarkingCheck(False, "", [f"Only a published item is relayed; this one is {state or 'not released'}."])
    tlp, caveats = item.tlp, list(item.caveats)
    if tlp == TLP.RED:
        return MarkingCheck(False, "", ["TLP:RED is never relayed: it goes to its named people only."])
    reasons: list[str] = []
    if tlp == TLP.AMBER_STRICT:
        if not _named_in_audience(item, target):
            return MarkingCheck(
                False, "", [f"TLP:AMBER+STRICT: {target.name} is not in the audience, so it may not receive it."]
            )
        reasons.append(f"TLP:AMBER+STRICT: {target.name} is in the audience; the copy reaches its people only.")
    elif tlp == TLP.AMBER:
        reasons.append(f"TLP:AMBER: shared with {target.name} on a need-to-know basis, with its markings.")
    else:
        reasons.append(f"{TLP(tlp).label}: may be shared with {target.name}.")
    access = "full"
    if Caveat.LES in caveats:
        if not (item.tearline or "").strip():
            return MarkingCheck(
                False,
                "",
                [
                    "LES without a tearline: people of "
                    f"{target.name} without law-enforcement status could read nothing of it, so it is not "
                    "relayed. Add a tearline to the item first."
                ],
            )
        access = "tearline"
        reasons.append(
            f"LES: people of {target.name} with law-enforcement status read the full text; "
            "the others read the tearline."
        )
    return MarkingCheck(True, access, reasons)
