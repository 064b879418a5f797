"""The colour dataset ganzoo is developed on, at a reduced size: ``scripts/build_emoji.py`` on a tarball
laid out as the npm package is, and a run on 27 real Twemoji images (3 per category; CC-BY 4.0, see
``fixtures/emoji-mini/SOURCE.txt``) that picks the colour recipe from the data by itself."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, run_cli

spec = importlib.util.spec_from_file_location("build_emoji", ROOT / "scripts" / "build_emoji.py")
build_emoji = importlib.util.module_from_spec(spec)
sys.modules["build_emoji"] = build_emoji
spec.loader.exec_module(build_emoji)

MINI = ROOT / "tests" / "data" / "fixtures" / "emoji-mini"


def _png(colour) -> bytes:
    a = np.zeros((64, 64, 4), np.uint8)
    a[16:48, 16:48] = (*colour, 255)  # an opaque square on a transparent ground
    buf = io.BytesIO()
    Image.fromarray(a, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def _tarball() -> bytes:
    """emoji.json and 64 px PNGs as the package lays them out: a skin-tone swatch (category Component),
    an emoji without a Twitter image, and three that count."""
    entries = [
        {"image": "1f600.png", "category": "Smileys & Emotion", "sort_order": 1, "has_img_twitter": True},
        {"image": "1f601.png", "category": "Smileys & Emotion", "sort_order": 2, "has_img_twitter": True},
        {"image": "1f3fb.png", "category": "Component", "sort_order": 3, "has_img_twitter": True},
        {"image": "1f1e6.png", "category": "Flags", "sort_order": 4, "has_img_twitter": True},
        {"image": "1f9ff.png", "category": "Flags", "sort_order": 5, "has_img_twitter": False},
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        files = {"package/emoji.json": json.dumps(entries).encode()}
        files.update({f"package/img/twitter/64/{e['image']}": _png((200, 30 * i, 30)) for i, e in enumerate(entries)})
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_the_build_script_makes_one_folder_per_category_without_components(tmp_path):
    counts = build_emoji.build(_tarball(), tmp_path / "emoji", per_class=None)
    assert counts == {"smileys_emotion": 2, "flags": 1}
    assert sorted(p.name for p in (tmp_path / "emoji").iterdir()) == ["SOURCE.txt", "flags", "smileys_emotion"]
    assert "CC-BY 4.0" in (tmp_path / "emoji" / "SOURCE.txt").read_text()
    assert build_emoji.build(_tarball(), tmp_path / "two", per_class=1) == {"smileys_emotion": 1, "flags": 1}


def test_the_build_script_checks_the_tarball_and_never_writes_into_a_folder_it_did_not_make(tmp_path, monkeypatch):
    blob = _tarball()
    with pytest.raises(SystemExit, match="SHA-512"):
        build_emoji.check(blob)  # not the package's tarball
    digest = base64.b64encode(hashlib.sha512(blob).digest()).decode()
    monkeypatch.setattr(build_emoji, "INTEGRITY", f"sha512-{digest}")
    build_emoji.check(blob)
    tarball, mine = tmp_path / "t.tgz", tmp_path / "mine"
    tarball.write_bytes(blob)
    mine.mkdir()
    (mine / "holiday.png").write_bytes(b"keep me")
    with pytest.raises(SystemExit, match="not made by this script"):
        build_emoji.main([str(mine), "--tarball", str(tarball)])
    assert (mine / "holiday.png").read_bytes() == b"keep me" and len(list(mine.iterdir())) == 1
    assert build_emoji.main([str(tmp_path / "new"), "--tarball", str(tarball)]) == 0
    assert build_emoji.main([str(tmp_path / "new"), "--tarball", str(tarball)]) == 0  # its own folder: rebuilt


def test_a_run_on_real_emoji_picks_the_colour_recipe_and_composites_onto_white(tmp_path):
    modes = {Image.open(p).mode for p in MINI.rglob("*.png")}
    assert modes == {"RGBA", "P"}  # both kinds of transparency PNG users have
    args = ["run", "data=imagefolder", f"data.root={MINI}", "train.steps=2", "train.batch_size=8", "train.progress=false"]
    done = run_cli([*args, "train.sample_every=0", f"out={tmp_path / 'run'}"], env={"GANZOO_CACHE": str(tmp_path / "cache")})
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert "recipe: preset 'colour'" in text and "3x64x64" in text
    assert "data=imagefolder: 27 of 27 images have transparency; composited onto white (data.alpha=white)" in text
    assert not [w for w in ("Warning", "warnings.warn", "should be converted to RGBA") if w in text], text
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert config["preset"] == "colour"
