"""The readable text of an HTML page: what a person would copy from it in a browser.

    html_to_text(page, main=("div", "role", "main"))  ->  "Title\n\nFirst paragraph ...\n\n..."

Block elements (headings, paragraphs, list items, table rows, <pre>) start new lines; inline
elements run on. Whitespace is collapsed except inside <pre>. Scripts, styles, navigation and the
elements named in SKIP_CLASSES or SKIP_IDS are dropped. If `main` is given, only the first element with that
attribute value (tag, attribute, value) is read; without it, the whole <body>.
"""
import re
from html.parser import HTMLParser

BLOCK = {"p", "div", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "dl", "ul",
         "ol", "table", "tr", "pre", "blockquote", "br", "hr", "figure", "figcaption", "caption", "title"}
DROP = {"script", "style", "nav", "head", "noscript", "svg", "button", "form", "select", "textarea"}
VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "track", "wbr"}
SKIP_CLASSES = {"headerlink", "related", "sphinxsidebar", "footer", "navheader", "navfooter", "toc",
                "mobile-nav", "menu-wrapper", "inline-search", "version_switcher_placeholder",
                "language_switcher_placeholder", "docnav", "breadcrumbs", "linenos", "clearer", "indexterm"}
PARAGRAPHS = {"p", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "dl", "ul", "ol", "figure"}
LINE, PARAGRAPH = "\x01", "\x02"  # breaks between blocks: a run of them is one line end, or a blank line
SKIP_IDS = {"banner", "title"}  # the Debian handbook's "Download the ebook" banner and its logo row


class _Reader(HTMLParser):
    def __init__(self, main):
        super().__init__(convert_charrefs=True)
        self.main = main
        self.depth_main = 0 if main is None else None  # element depth inside the main element, None before it
        self.done = False
        self.skip = 0       # depth inside a dropped element
        self.pre = 0        # depth inside <pre>
        self.stack = []     # open tags, to match end tags
        self.out = []       # pieces; "\n" marks a line break

    def _dropped(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        return tag in DROP or bool(classes & SKIP_CLASSES) or attrs.get("id") in SKIP_IDS

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if self.depth_main is None:
            t, key, value = self.main
            if tag == t and value in (dict(attrs).get(key) or "").split():
                self.depth_main = 0
            else:
                return
        if tag in VOID:
            if tag in BLOCK and not self.skip:
                self.out.append(LINE)
            return
        self.stack.append(tag)
        if self.skip or self._dropped(tag, attrs):
            self.skip += 1
            return
        if tag == "pre":
            self.pre += 1
        if tag in BLOCK:
            self.out.append(PARAGRAPH if tag in PARAGRAPHS else LINE)
        elif tag in ("td", "th"):
            self.out.append(" ")

    def handle_endtag(self, tag):
        if self.done or self.depth_main is None or tag not in self.stack:
            return
        while self.stack:  # close anything left open inside (HTML lets <p> and <li> go unclosed)
            open_tag = self.stack.pop()
            if self.skip:
                self.skip -= 1
            else:
                if open_tag == "pre":
                    self.pre -= 1
                if open_tag in BLOCK:
                    self.out.append(PARAGRAPH if open_tag in PARAGRAPHS else LINE)
            if open_tag == tag:
                break
        if self.main is not None and not self.stack:
            self.done = True

    def handle_data(self, data):
        if self.done or self.depth_main is None or self.skip:
            return
        if self.pre:
            self.out.append(data.replace("\n", "\0"))  # kept through the whitespace collapse below
        else:
            self.out.append(" ".join(data.split()) if data.strip() else (" " if data else ""))
            if data[:1].isspace() and data.strip():
                self.out[-1] = " " + self.out[-1]
            if data[-1:].isspace() and data.strip():
                self.out[-1] += " "


def html_to_text(page: str, main: tuple[str, str, str] | None = None) -> str:
    """The page's readable text (see the module docstring); "" if `main` is not found."""
    reader = _Reader(main)
    reader.feed(page)
    reader.close()
    text = re.sub(r"[ \t]*[\x01\x02][\x01\x02 \t]*", lambda m: "\n\n" if PARAGRAPH in m.group() else "\n",
                  "".join(reader.out))
    lines = text.split("\n")
    text = "\n".join(" ".join(line.split()) if "\0" not in line else line.rstrip() for line in lines)
    text = "\n".join(line.rstrip() for line in text.replace("\0", "\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
