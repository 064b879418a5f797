"""The README's screenshot (docs/report.png): a real ``ganzoo report`` page opened in the same headless
Chromium the browser test uses (Debian's chromium + chromium-driver, driven by Selenium), saved as
a small palette PNG.

    ganzoo sweep critic.norm=batch,layer train.steps=300 train.sample_every=30 train.eval_every=100 \\
        train.eval_n=500 out=/tmp/shot --n 500
    ganzoo report /tmp/shot --out /tmp/shot.html
    python scripts/report_screenshot.py /tmp/shot.html docs/report.png

Options: ``--width`` (CSS pixels of the window, default 1100), ``--height`` (how much of the page,
default 2050), ``--colors`` (palette size, default 128). Never downloads anything.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def screenshot(page: Path, width: int, height: int) -> bytes:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.set_window_size(width, height)
            driver.get(page.resolve().as_uri())
            return driver.get_screenshot_as_png()
        finally:
            driver.quit()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("page", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--width", type=int, default=1100)
    p.add_argument("--height", type=int, default=2050)
    p.add_argument("--colors", type=int, default=128)
    args = p.parse_args()
    from PIL import Image

    img = Image.open(io.BytesIO(screenshot(args.page, args.width, args.height))).convert("RGB")
    small = img.quantize(colors=args.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(args.out, format="PNG", optimize=True)
    print(f"wrote {args.out}: {img.width}x{img.height}, {args.out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
