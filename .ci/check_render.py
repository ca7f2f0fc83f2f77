"""Open pages of the built documentation in headless Chromium and check that they render.

Usage: ``python .ci/check_render.py doc/_build/html SCREENSHOT_DIR``

Serves the built site over a local ``http.server`` (nothing else is fetched from the
network by this script) and opens, in headless Chromium driven by selenium, the front
page (``index.html``, screenshot ``front.png``) and one gallery page
(``auto_examples/plot_latent_space.html``, else the first ``auto_examples/plot_*.html``;
screenshot ``gallery.png``). On each page it checks that the title names the project,
that the navigation bar is there and shown, and that every ``<img>`` loaded (complete,
with ``naturalWidth > 0``). Exits 1 with a message per failure.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``) and ``selenium`` (the ``docs`` extra).
"""

import argparse
import base64
import functools
import os
import shutil
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROJECT = "skaae"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver",)
GALLERY_PAGE = "auto_examples/plot_latent_space.html"
WINDOW = (1280, 1000)
IMAGE_TIMEOUT = 30.0
FULL_PAGE_HEIGHT = 4000

# The images of a page, all made eager and scrolled through first (a lazy image below
# the fold would otherwise never load in a screenshot-sized window).
IMAGES_JS = """
return Array.from(document.images).map(img => ({
    src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth}));
"""
EAGER_JS = "document.querySelectorAll('img[loading]').forEach(img => img.loading = 'eager');"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def serve(directory):
    """A local HTTP server of ``directory`` on a free port, in a daemon thread."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def find_executable(names, override):
    if override:
        return override
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def make_driver(chromium, chromedriver):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager must not go looking for a browser or driver on the network.
    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def wait_for_images(driver, timeout):
    driver.execute_script(EAGER_JS)
    height = driver.execute_script("return document.body.scrollHeight")
    for y in range(0, height + 1, WINDOW[1] // 2):
        driver.execute_script(f"window.scrollTo(0, {y});")
    deadline = time.monotonic() + timeout
    while True:
        images = driver.execute_script(IMAGES_JS)
        if all(image["complete"] for image in images) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    driver.execute_script("window.scrollTo(0, 0);")
    return images


def save_full_page(driver, path):
    """A PNG of the whole page (Chromium's DevTools screenshot beyond the viewport)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": WINDOW[0], "height": min(height, FULL_PAGE_HEIGHT)}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}},
    )
    Path(path).write_bytes(base64.b64decode(shot["data"]))


def check_page(driver, url, screenshot):
    """The problems of the page at ``url``; writes its screenshot."""
    from selenium.webdriver.common.by import By

    problems = []
    driver.get(url)
    deadline = time.monotonic() + IMAGE_TIMEOUT
    while driver.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            problems.append("the page did not finish loading")
            break
        time.sleep(0.1)
    title = driver.title
    if PROJECT not in title:
        problems.append(f"title {title!r} does not name {PROJECT}")
    navbars = driver.find_elements(By.CSS_SELECTOR, "header.bd-header, nav.navbar, .bd-navbar")
    if not navbars:
        problems.append("no navigation bar (header.bd-header)")
    elif not any(navbar.is_displayed() for navbar in navbars):
        problems.append("the navigation bar is not shown")
    images = wait_for_images(driver, IMAGE_TIMEOUT)
    for image in images:
        if not image["complete"] or not image["width"]:
            problems.append(
                f"image {image['src']!r} did not load (complete={image['complete']}, "
                f"naturalWidth={image['width']})"
            )
    # A gallery page's screenshot shows its first figure; any other page is taken whole
    # (up to FULL_PAGE_HEIGHT pixels).
    figures = driver.find_elements(By.CSS_SELECTOR, "img.sphx-glr-single-img")
    if figures:
        driver.execute_script(
            "arguments[0].scrollIntoView(); window.scrollBy(0, -120);", figures[0]
        )
        time.sleep(0.2)
        driver.save_screenshot(str(screenshot))
    else:
        save_full_page(driver, screenshot)
    print(f"  {url}: title {title!r}, {len(images)} images, screenshot {screenshot}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=Path, help="the built site, e.g. doc/_build/html")
    parser.add_argument("screenshot_dir", type=Path, help="where to write the PNG screenshots")
    parser.add_argument("--chromium", help="the browser (default: chromium on PATH)")
    parser.add_argument("--chromedriver", help="the driver (default: chromedriver on PATH)")
    args = parser.parse_args(argv)

    html_dir = args.html_dir.resolve()
    front = html_dir / "index.html"
    gallery = html_dir / GALLERY_PAGE
    if not gallery.is_file():
        candidates = sorted(html_dir.glob("auto_examples/plot_*.html"))
        gallery = candidates[0] if candidates else None
    missing = [str(p) for p in (front, gallery) if p is None or not p.is_file()]
    if missing or gallery is None:
        print(f"check_render: no such pages in {html_dir}: {missing or 'a gallery page'}")
        return 1
    chromium = find_executable(CHROMIUM_NAMES, args.chromium)
    chromedriver = find_executable(DRIVER_NAMES, args.chromedriver)
    if not chromium or not chromedriver:
        print(
            "check_render: Chromium or its driver is missing; install them with "
            "`apt-get install -y chromium chromium-driver`",
            file=sys.stderr,
        )
        return 1
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("check_render: selenium is missing; pip install -e '.[docs]'", file=sys.stderr)
        return 1

    args.screenshot_dir.mkdir(parents=True, exist_ok=True)
    server = serve(html_dir)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    driver = make_driver(chromium, chromedriver)
    failures = []
    try:
        for page, name in ((front, "front.png"), (gallery, "gallery.png")):
            url = base + page.relative_to(html_dir).as_posix()
            problems = check_page(driver, url, args.screenshot_dir / name)
            failures += [f"{page.relative_to(html_dir)}: {problem}" for problem in problems]
    finally:
        driver.quit()
        server.shutdown()
    if failures:
        for failure in failures:
            print(f"check_render: {failure}", file=sys.stderr)
        return 1
    print("check_render: both pages render (title, navigation bar, every image loaded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
