"""A colour folder with transparency, end to end through the command line (processes of their own, so
the warnings a user would see are the ones seen here): 16x16 RGBA and palette PNGs whose
transparency is expressed in bytes (the files that made PIL warn twice)."""

import json

import numpy as np
from PIL import Image

from helpers import run_cli

WARNING_TEXT = ("Warning", "warnings.warn", "warning:", "Palette images with Transparency", "should be converted to RGBA")


def _folder(root, sprites=2):
    """2 classes of ``sprites`` RGBA sprites (a transparent border) and 1 palette image with tRNS bytes."""
    for c, colour in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        (root / c).mkdir(parents=True)
        for i in range(sprites):
            a = np.zeros((16, 16, 4), np.uint8)
            a[3 + i % 4 : 13, 3:13] = (*colour, 255)
            a[2, 2:14] = (*colour, 128)  # half transparent
            Image.fromarray(a, "RGBA").save(root / c / f"sprite{i}.png")
        p = Image.new("P", (16, 16), 0)
        p.putpalette([0, 255, 0, *colour] + [0] * 762)  # index 0: transparent green
        for y in range(4, 12):
            for x in range(4, 12):
                p.putpixel((x, y), 1)
        p.save(root / c / "palette.png", transparency=b"\x00\x80")
    assert Image.open(root / "red" / "palette.png").info["transparency"] == b"\x00\x80"  # bytes, as PIL warned about
    return root


def _run(tmp_path, *extra):
    args = [
        "run",
        "preset=wgan-gp-paper",
        "data=imagefolder",
        f"data.root={tmp_path / 'd'}",
        "data.workers=1",  # a worker process decodes: it must not print warnings either
        "data.cache=false",
        "critic.width=2",
        "generator.base=32",
        "generator.z_dim=8",
        "train.batch_size=4",
        "train.n_critic=1",
        "train.steps=2",
        "train.progress=false",
        "train.precision=fp32",
        f"out={tmp_path / 'run'}",
        *extra,
    ]
    return run_cli(args, env={"GANZOO_CACHE": str(tmp_path / "cache")})


def test_a_transparent_colour_folder_runs_with_one_alpha_note_and_no_warnings(tmp_path):
    _folder(tmp_path / "d")
    done = _run(tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert [line for line in text.splitlines() if "transparency" in line] == [
        "data=imagefolder: 6 of 6 images have transparency; composited onto white (data.alpha=white)"
    ]
    assert not [w for w in WARNING_TEXT if w in text], text
    data_lines = [line for line in done.stderr.splitlines() if line.startswith("data=imagefolder: ")]
    assert data_lines[0] == "data=imagefolder: 2 classes: blue 3, red 3 images"  # the per-class counts come first
    assert data_lines[1].startswith("data=imagefolder: shape 3x16x16 from the images")
    assert Image.open(tmp_path / "run" / "samples" / "step-00000002.png").mode == "RGB"


def test_keep_trains_an_rgba_generator_whose_samples_are_rgba_and_scores(tmp_path):
    _folder(tmp_path / "d", sprites=9)  # 10 a class: the evaluator holds out 2 of each as its reference
    done = _run(tmp_path, "data.alpha=keep")
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert "data=imagefolder: 20 of 20 images have transparency; kept as a fourth channel" in text
    assert not [w for w in WARNING_TEXT if w in text], text
    with Image.open(tmp_path / "run" / "samples" / "step-00000002.png") as grid:
        assert grid.mode == "RGBA"
    out, png = tmp_path / "s.npz", tmp_path / "s.png"
    sampled = run_cli(["sample", str(tmp_path / "run"), "--per-class", "2", "--out", str(out), "--grid", str(png)])
    assert sampled.returncode == 0, sampled.stderr
    with np.load(out) as z:
        assert z["images"].shape == (4, 4, 16, 16) and z["images"].dtype == np.uint8
    with Image.open(png) as grid:
        assert grid.mode == "RGBA"
        alpha = np.asarray(grid)[..., 3]
        assert alpha[0, 0] == 0 and (alpha[2:18, 2:18] == 255).all()  # transparent padding, opaque cells on the checkerboard
    judged = run_cli(["eval", str(tmp_path / "run"), "--n", "4", "--json"], env={"GANZOO_CACHE": str(tmp_path / "cache")})
    assert judged.returncode == 0, judged.stderr
    assert json.loads(judged.stdout)["n"] == 4  # the judge trained and scored on the 4-channel set
