"""The folders people really have, each built in tmp_path: mixed sizes and aspect ratios, grey and
colour together, macOS and editor litter beside the images, nested subfolders, a class of one image,
upper-case extensions, symlinked images. Each loads, and the notes say what was done."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.registry.host import PluginHost


def _load(root, **options):
    cls = PluginHost(entry_points=[]).get("dataset", "imagefolder")
    return cls(cls.Config(root=str(root), cache=False, **options)).load()


def _img(path, size=(8, 8), mode="RGB", value=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "RGB" else value[0]).save(path)
    return path


def _per_class(data):
    return torch.bincount(data.labels, minlength=len(data.classes)).tolist()


@pytest.mark.parametrize(
    "resize,policy",
    [
        ("crop", "2 of 3 images are not 8x8: shorter side resized, centre-cropped (data.resize=crop; data.resize=pad keeps whole images)"),
        ("pad", "2 of 3 images are not 8x8: longer side resized, padded to square with white (data.resize=pad)"),
    ],
)
def test_mixed_sizes_and_aspect_ratios_say_the_resize_policy(tmp_path, resize, policy):
    _img(tmp_path / "a" / "square.png", (8, 8))
    _img(tmp_path / "a" / "wide.png", (16, 6))
    _img(tmp_path / "b" / "tall.png", (5, 12))
    data = _load(tmp_path, size=8, resize=resize)
    assert data.shape == (3, 3, 8, 8)
    assert policy in data.notes, data.notes
    auto = _load(tmp_path, resize=resize)  # size from the images: the policy is in the shape note
    shape = [n for n in auto.notes if n.startswith("shape ")]
    assert len(shape) == 1 and f"data.resize={resize}" in shape[0] and not any(n.startswith("2 of 3") for n in auto.notes)
    wide = auto.pixels[1]  # a/wide.png: the walk order is a/square, a/wide, b/tall
    if resize == "pad":
        assert (wide[:, 0] == 255).all() and (wide[0, wide.shape[1] // 2] == 200).all()  # white band, the whole image in the middle
    else:
        assert (wide[0] == 200).all()  # cropped: only the image


def test_grey_and_colour_in_one_folder_make_a_colour_set(tmp_path):
    _img(tmp_path / "a" / "grey.png", mode="L", value=(90,))
    _img(tmp_path / "a" / "colour.png", value=(10, 20, 30))
    data = _load(tmp_path)
    assert data.shape == (2, 3, 8, 8)
    by_name = dict(zip(["colour", "grey"], data.pixels))  # walk order: colour.png, grey.png
    assert by_name["grey"][:, 0, 0].tolist() == [90, 90, 90] and by_name["colour"][:, 0, 0].tolist() == [10, 20, 30]
    assert any("1 of 2 images in colour, the grayscale ones repeated in each channel" in n for n in data.notes)


def test_hidden_files_and_non_images_are_skipped_and_counted_in_one_note(tmp_path):
    _img(tmp_path / "a" / "x.png")
    _img(tmp_path / "b" / "y.png")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "a" / "._x.png").write_bytes(b"\0\5\26\7AppleDouble")  # macOS metadata: an image name, not an image
    (tmp_path / "b" / "notes.txt").write_text("shot on a phone")
    _img(tmp_path / "b" / ".ipynb_checkpoints" / "y-checkpoint.png")  # a hidden folder in a class: a copy, skipped
    data = _load(tmp_path)
    assert data.classes == ("a", "b") and len(data.labels) == 2
    skipped = [n for n in data.notes if n.startswith("skipped")]
    assert len(skipped) == 1, data.notes
    assert skipped[0].startswith("skipped 4 files that are not images: 3 hidden (a name starting with '.'), e.g. ")
    assert f"1 without an image extension, e.g. {tmp_path / 'b' / 'notes.txt'}" in skipped[0]


def test_nested_subfolders_count_for_their_class(tmp_path):
    _img(tmp_path / "a" / "top.png")
    _img(tmp_path / "a" / "2019" / "summer" / "deep.png")
    _img(tmp_path / "b" / "sub" / "only.png")
    data = _load(tmp_path)
    assert _per_class(data) == [2, 1]
    assert data.notes[0] == "2 classes: a 2, b 1 images"


def test_a_class_with_one_image_loads_and_is_counted(tmp_path):
    _img(tmp_path / "lonely" / "one.png")
    for i in range(3):
        _img(tmp_path / "many" / f"{i}.png")
    data = _load(tmp_path)
    assert data.classes == ("lonely", "many") and _per_class(data) == [1, 3]
    assert data.notes[0] == "2 classes: lonely 1, many 3 images"


def test_upper_case_extensions_are_images(tmp_path):
    _img(tmp_path / "a" / "A.PNG")
    _img(tmp_path / "a" / "B.JPG")
    _img(tmp_path / "a" / "c.JpEg")
    data = _load(tmp_path)
    assert len(data.labels) == 3 and not any(n.startswith("skipped") for n in data.notes)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinked_images_are_read_through_their_links(tmp_path):
    outside = _img(tmp_path / "elsewhere" / "real.png", value=(1, 2, 3))
    (tmp_path / "d" / "a").mkdir(parents=True)
    os.symlink(outside, tmp_path / "d" / "a" / "link.png")
    data = _load(tmp_path / "d")
    assert data.pixels[0, :, 0, 0].tolist() == [1, 2, 3]
    assert np.array_equal(data.pixels[0].numpy().transpose(1, 2, 0), np.asarray(Image.open(outside)))
