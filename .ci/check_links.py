"""Check the internal links of the built HTML documentation; fetch nothing.

Usage: ``python .ci/check_links.py doc/_build/html``

Every ``href`` and ``src`` of every HTML page under the directory (links, images,
scripts, style sheets) that points inside the site must name a file that exists and,
when it has a ``#fragment``, an ``id`` (or ``name``) on that page. Links with a scheme
(``https:``, ``mailto:``, ...) or to another host (``//host/...``) are external and are
not fetched. Exits 1 with one line per broken link.
"""

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {"href", "src"}


class PageParser(HTMLParser):
    """Collects a page's link targets and the anchors it defines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.anchors = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and tag != "meta":
                self.anchors.add(value)
            elif name in LINK_ATTRIBUTES and tag != "base":
                self.links.append((tag, value, self.getpos()[0]))
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        self.links.append((tag, candidate.split()[0], self.getpos()[0]))


def parse(path):
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


def is_external(url):
    parts = urlsplit(url)
    return bool(parts.scheme) or bool(parts.netloc)


def resolve(page, url, root):
    """The file that ``url`` on ``page`` points at, and its fragment ('' for none)."""
    parts = urlsplit(url)
    fragment = unquote(parts.fragment)
    if not parts.path:
        return page, fragment
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, fragment


def check(root):
    root = root.resolve()
    # _static/ holds the theme's assets (one of them an unrendered template), not pages.
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts)
    if not pages:
        return [f"no HTML pages under {root}"], 0, 0
    anchors = {}
    links = {}
    for page in pages:
        parsed = parse(page)
        anchors[page] = parsed.anchors
        links[page] = parsed.links
    problems = []
    checked = 0
    for page in pages:
        for tag, url, line in links[page]:
            url = url.strip()
            if not url or url == "#" or is_external(url) or url.startswith("javascript:"):
                continue
            checked += 1
            target, fragment = resolve(page, url, root)
            where = f"{page.relative_to(root)}:{line}: <{tag}> {url}"
            if root not in target.parents and target != root:
                problems.append(f"{where}: points outside the site ({target})")
            elif not target.is_file():
                problems.append(f"{where}: no file {target.relative_to(root)}")
            elif fragment and target.suffix == ".html":
                if target not in anchors:
                    anchors[target] = parse(target).anchors
                if fragment not in anchors[target]:
                    problems.append(f"{where}: no anchor #{fragment} in {target.relative_to(root)}")
    return problems, checked, len(pages)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=Path, help="the built site, e.g. doc/_build/html")
    args = parser.parse_args(argv)
    if not args.html_dir.is_dir():
        print(f"check_links: {args.html_dir} is not a directory", file=sys.stderr)
        return 1
    problems, checked, n_pages = check(args.html_dir)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(
            f"check_links: {len(problems)} broken internal links of {checked} in {n_pages} pages",
            file=sys.stderr,
        )
        return 1
    print(f"check_links: {checked} internal links in {n_pages} pages, all resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
