"""Comparing two versions of a product: a word diff of their text, escaped, with <ins> and <del> marks."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from agencies.markings import TLP

from .models import ThreatProduct

# Words and the whitespace between them, so a diff keeps the text's line breaks.
TOKENS = re.compile(r"\s+|[^\s]+")

FULL_TEXT_FIELDS = (("title", "Title"), ("summary", "Summary"), ("body", "Body"), ("tearline", "Tearline"))
TEARLINE_FIELDS = (("title", "Title"), ("tearline", "Tearline"))


def diff_html(old: str, new: str) -> SafeString:
    """HTML of `new` compared with `old`: removed words in <del>, added words in <ins>, all text escaped."""
    old_tokens, new_tokens = TOKENS.findall(old or ""), TOKENS.findall(new or "")
    parts = []
    matcher = difflib.SequenceMatcher(a=old_tokens, b=new_tokens, autojunk=False)
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        removed = escape("".join(old_tokens[a_start:a_end]))
        added = escape("".join(new_tokens[b_start:b_end]))
        if operation == "equal":
            parts.append(added)
            continue
        if removed:
            parts.append(f"<del>{removed}</del>")
        if added:
            parts.append(f"<ins>{added}</ins>")
    return mark_safe("".join(parts))  # nosec B308 B703 # noqa: S308 - every piece of product text is escaped above


@dataclass(frozen=True)
class FieldDiff:
    label: str
    html: SafeString
    changed: bool


def compare_versions(older: ThreatProduct, newer: ThreatProduct, *, full_text: bool) -> list[FieldDiff]:
    """The text fields of two versions side by side; only title and tearline unless `full_text`."""
    fields = FULL_TEXT_FIELDS if full_text else TEARLINE_FIELDS
    return [
        FieldDiff(
            label=label,
            html=diff_html(getattr(older, name), getattr(newer, name)),
            changed=getattr(older, name) != getattr(newer, name),
        )
        for name, label in fields
    ]


# TLP levels from the widest audience to the narrowest.
TLP_ORDER = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]


@dataclass(frozen=True)
class Marking:
    tlp_label: str
    caveat_labels: list[str]


def strictest_marking(*versions: ThreatProduct) -> Marking:
    """The marking of a page showing several versions: the narrowest TLP and every caveat among them."""
    tlp = max((TLP(version.tlp) for version in versions), key=TLP_ORDER.index)
    caveats = sorted({label for version in versions for label in version.caveat_labels})
    return Marking(tlp_label=tlp.label, caveat_labels=caveats)
