"""MkDocs hook (mkdocs.yml `hooks:`): what `--strict` does not check in MkDocs 1.4.

MkDocs 1.4 fails a strict build on a link to a missing page, but only notes a page that
no nav entry reaches and does not look at anchors at all. This hook fails the build on
both: every page must be in the nav, and every link `page.md#anchor` (or `#anchor`) must
name a heading (or an element id) that exists on that page.
"""
from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from urllib.parse import urlsplit, unquote

from mkdocs.exceptions import PluginError

_ids: dict[str, set[str]] = {}
_links: dict[str, list[str]] = {}


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if tag == "a" and name == "href" and value:
                self.hrefs.append(value)


def on_pre_build(config, **kwargs):
    _ids.clear()
    _links.clear()


def on_nav(nav, config, files, **kwargs):
    in_nav = {page.file.src_uri for page in nav.pages}
    missing = sorted(f.src_uri for f in files.documentation_pages() if f.src_uri not in in_nav)
    if missing:
        raise PluginError("pages not in mkdocs.yml's nav: " + ", ".join(missing))
    return nav


def on_page_content(html, page, config, files, **kwargs):
    scan = _Scan()
    scan.feed(html)
    _ids["/" + page.url] = scan.ids
    _links["/" + page.url] = scan.hrefs
    return html


def on_post_build(config, **kwargs):
    problems = []
    for url, hrefs in _links.items():
        for href in hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.fragment:
                continue
            if parts.path:
                # Page URLs end in "/" (use_directory_urls): a relative link resolves
                # against the page's own folder.
                base = url if url.endswith("/") else posixpath.dirname(url) + "/"
                target = posixpath.normpath(posixpath.join(base, parts.path)).rstrip("/") + "/"
            else:
                target = url
            anchor = unquote(parts.fragment)
            if target not in _ids:
                problems.append(f"{url}: link {href}: no page {target}")
            elif anchor not in _ids[target]:
                problems.append(f"{url}: link {href}: no heading #{anchor} on {target}")
    if problems:
        raise PluginError("broken anchors:\n  " + "\n  ".join(sorted(problems)))
