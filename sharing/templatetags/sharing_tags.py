"""Template filters of the fusion center's pages."""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from sharing.markdown import render_markdown
from sharing.selectors import HIGHLIGHT_START, HIGHLIGHT_STOP

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def highlight(snippet: str) -> SafeString:
    """A search snippet, escaped, with its matches in <mark>."""
    escaped = escape(snippet or "")
    return mark_safe(escaped.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_STOP, "</mark>"))  # nosec B308 B703 # noqa: S308 - escaped above
