"""data=imagefolder on hostile folders, each built for real in tmp_path: symlink loops, links to
files and folders outside, a FIFO named x.png, 16-bit images, a PNG that claims 30000x30000 pixels.
Loads that used to hang run in a thread with a deadline, so a regression fails instead of hanging."""

import json
import os
import struct
import threading
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.cli import main
from ganzoo.errors import ConfigError, DataError
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink") or not hasattr(os, "mkfifo"), reason="needs POSIX links and FIFOs")

DEADLINE = 30  # seconds; a correct load takes well under one


def _cls():
    return PluginHost(entry_points=[]).get("dataset", "imagefolder")


def _load(root, size=6, channels=1, **options):
    cls = _cls()
    return cls(cls.Config(root=str(root), size=size, channels=channels, **options)).load()


def _in_time(fn, unblock=None):
    """fn() in a daemon thread; fails the test if it is still running after DEADLINE seconds."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    if thread.is_alive():
        if unblock is not None:
            unblock()
        pytest.fail(f"data=imagefolder did not finish within {DEADLINE} s: it hangs")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _error(fn) -> str:
    """The DataError message fn raises; every one is a single paragraph that ends with what to do."""
    with pytest.raises(DataError) as err:
        fn()
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("data=imagefolder: ") and msg.endswith("."), msg
    return msg


def _png(path, value=0, size=(6, 6), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def _classes(root, **counts):
    for c, n in counts.items():
        for i in range(n):
            _png(root / c / f"{i}.png", 20 * i + 5)


def _per_class(data):
    return torch.bincount(data.labels, minlength=len(data.classes)).tolist()


def _claiming(path, width, height):
    """A real 6x6 1-bit PNG whose IHDR is rewritten (with a correct CRC) to claim width x height."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("1", (6, 6)).save(path)
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


# -- links ------------------------------------------------------------------------------------
def test_a_symlink_loop_in_a_class_counts_each_image_once(tmp_path):
    _classes(tmp_path, a=3, b=5, c=4)
    os.symlink(".", tmp_path / "a" / "loop")  # used to turn 3 images into 123
    data = _in_time(lambda: _load(tmp_path))
    assert data.classes == ("a", "b", "c")
    assert _per_class(data) == [3, 5, 4] and data.images.shape == (12, 1, 6, 6)
    assert data.notes[0] == "3 classes: a 3, b 5, c 4 images"
    looped = [n for n in data.notes if n.startswith("did not follow 1 folder link ")]
    assert looped and str(tmp_path / "a" / "loop") in looped[0], data.notes


def test_two_symlink_loops_and_a_loop_to_the_parent_finish_quickly(tmp_path):
    _classes(tmp_path, a=3, b=2)
    (tmp_path / "a" / "sub").mkdir()
    _png(tmp_path / "a" / "sub" / "deep.png", 99)
    os.symlink(".", tmp_path / "a" / "loop1")  # two loops used to hang the walk
    os.symlink(".", tmp_path / "a" / "loop2")
    os.symlink("..", tmp_path / "a" / "sub" / "up")
    os.symlink("self.png", tmp_path / "a" / "self.png")  # a file link to itself
    data = _in_time(lambda: _load(tmp_path))
    assert _per_class(data) == [4, 2]
    assert data.notes[0] == "2 classes: a 4, b 2 images"
    assert any(n.startswith("did not follow 3 folder links ") for n in data.notes), data.notes
    assert any(n.startswith("skipped 1 file ") and str(tmp_path / "a" / "self.png") in n for n in data.notes), data.notes


def test_links_to_files_and_folders_are_followed_but_nothing_counts_twice(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    _classes(root, a=2, b=1)
    _png(outside / "far.png", 200)
    _png(outside / "kept" / "k1.png", 210)
    _png(outside / "kept" / "k2.png", 220)
    os.symlink(outside / "kept", root / "c")  # a class folder that is a link, not a loop
    os.symlink(outside / "far.png", root / "a" / "far.png")  # a file outside: counted once, in a
    os.symlink("0.png", root / "a" / "again.png")  # a second name for a/0.png
    os.symlink(root / "a" / "1.png", root / "b" / "stolen.png")  # a/1.png under class b too
    os.symlink(outside / "kept", root / "b" / "more")  # the folder of class c, again
    data = _in_time(lambda: _load(root))
    assert data.classes == ("a", "b", "c") and _per_class(data) == [3, 1, 2]
    assert data.notes[0] == "3 classes: a 3, b 1, c 2 images"
    dup = [n for n in data.notes if n.startswith("counted 2 files reached by a second path only once")]
    assert dup and str(root / "a" / "again.png") in dup[0] and str(root / "a" / "0.png") in dup[0], data.notes
    assert any(n.startswith("did not follow 1 folder link ") and str(root / "b" / "more") in n for n in data.notes)
    # the file outside is loaded (in class a), not skipped: its value is in the data
    far = 200 / 255 * 2 - 1
    assert any(torch.allclose(img, torch.full_like(img, far), atol=1e-6) for img in data.images[data.labels == 0])


def test_a_real_subfolder_wins_over_a_link_that_reaches_it_first(tmp_path):
    _classes(tmp_path, a=1)
    _png(tmp_path / "a" / "real" / "r.png", 50)
    os.symlink("real", tmp_path / "a" / "alias")  # sorts before "real"
    data = _in_time(lambda: _load(tmp_path))
    assert _per_class(data) == [2]
    assert any(n.startswith("did not follow 1 folder link ") and str(tmp_path / "a" / "alias") in n for n in data.notes), data.notes


@pytest.mark.parametrize("target,fragment", [("a", "are the same folder"), (".", "holds data.root itself")])
def test_a_class_folder_that_links_to_another_class_or_to_the_root_is_refused(tmp_path, target, fragment):
    _classes(tmp_path, a=2)
    os.symlink(target, tmp_path / "b")
    msg = _in_time(lambda: _error(lambda: _load(tmp_path)))
    assert fragment in msg and str(tmp_path / "b") in msg and "Remove the link" in msg


def test_walk_order_and_labels_match_torchvision(tmp_path):
    from torchvision import datasets

    for path, v in [("b/x.png", 1), ("b/sub/y.PNG", 2), ("b/sub-x/z.jpg", 3), ("a/q.png", 4), (".hidden/h.png", 5), ("c/deep/er/w.bmp", 6)]:
        _png(tmp_path / path, v * 30)
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    theirs = datasets.ImageFolder(str(tmp_path))
    data = _load(tmp_path, size=6, channels=1)
    assert data.classes == tuple(theirs.classes) == (".hidden", "a", "b", "c")
    assert data.labels.tolist() == [label for _, label in theirs.samples]
    expected = [np.asarray(Image.open(p).convert("L"), dtype=np.float32)[0, 0] / 255 * 2 - 1 for p, _ in theirs.samples]
    assert np.allclose(data.images[:, 0, 0, 0].numpy(), expected, atol=1e-6)
    assert data.notes == (
        "4 classes: .hidden 1, a 1, b 3, c 1 images",
        f"skipped 1 file that is not an image: 1 without an image extension, e.g. {tmp_path / 'b' / 'notes.txt'}",
    )


def test_the_count_note_lists_twenty_classes_then_says_how_many_more(tmp_path):
    _classes(tmp_path, **{f"c{i:02d}": 1 + i % 2 for i in range(23)})
    data = _load(tmp_path)
    shown = ", ".join(f"c{i:02d} {1 + i % 2}" for i in range(20))
    assert data.notes == (f"23 classes, 34 images: {shown} and 3 more classes",)


# -- special files ----------------------------------------------------------------------------
def _unblock(fifo):
    def go():
        try:  # a reader stuck in open() returns once a writer appears, then reads end of file
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass

    return go


def test_a_fifo_named_like_an_image_is_skipped_without_opening_it(tmp_path):
    _classes(tmp_path, a=2, b=1)
    fifo = tmp_path / "a" / "x.png"
    os.mkfifo(fifo)
    data = _in_time(lambda: _load(tmp_path), unblock=_unblock(fifo))
    assert _per_class(data) == [2, 1]
    skipped = [n for n in data.notes if n.startswith("skipped ")]
    assert skipped == [
        f"skipped 1 file with an image name that is not a regular file (a FIFO, socket, device or broken link), e.g. {fifo} (a FIFO)"
    ]


def test_a_class_with_only_a_fifo_and_a_broken_link_is_a_clear_error(tmp_path):
    _classes(tmp_path, a=1)
    (tmp_path / "b").mkdir()
    fifo = tmp_path / "b" / "only.png"
    os.mkfifo(fifo)
    os.symlink("missing.png", tmp_path / "b" / "gone.png")
    msg = _in_time(lambda: _error(lambda: _load(tmp_path)), unblock=_unblock(fifo))
    assert f"1 class folder without images: {tmp_path / 'b'} holds 2 special files" in msg
    assert "(a broken link)" in msg and "subfolder per class" in msg and msg.endswith("Add images to these folders or remove them.")


# -- 16-bit images ----------------------------------------------------------------------------
VALUES = np.array([0, 1, 1000, 4096, 32768, 65534, 65535] + [257 * k for k in range(29)], dtype=np.uint16).reshape(6, 6)


@pytest.mark.parametrize("fmt,dtype,mode", [("png", np.uint16, "I;16"), ("tiff", ">u2", "I;16B")])
def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path, fmt, dtype, mode):
    path = tmp_path / "a" / f"deep.{fmt}"
    path.parent.mkdir()
    Image.fromarray(VALUES.astype(dtype)).save(path)
    assert Image.open(path).mode == mode
    expected = torch.from_numpy(VALUES.astype(np.float64) / 65535 * 2 - 1)
    gray = _load(tmp_path, size=6, channels=1)
    assert gray.images.shape == (1, 1, 6, 6)
    assert torch.allclose(gray.images[0, 0].double(), expected, atol=1e-6, rtol=0)
    assert gray.images[0, 0, 0, 2] < 0 < gray.images[0, 0, 0, 4] < 1  # 1000 and 32768 were both white
    rgb = _load(tmp_path, size=6, channels=3)
    assert rgb.images.shape == (1, 3, 6, 6)
    for ch in range(3):
        assert torch.allclose(rgb.images[0, ch].double(), expected, atol=1e-6, rtol=0)


def test_a_resized_sixteen_bit_image_matches_its_eight_bit_copy(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 24).round().astype(np.uint16), (24, 1))  # left to right, 24x24
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.fromarray(ramp).save(tmp_path / "a" / "r16.png")
    Image.fromarray((ramp >> 8).astype(np.uint8)).save(tmp_path / "b" / "r8.png")
    data = _load(tmp_path, size=8, channels=1)
    deep, shallow = data.images[0, 0], data.images[1, 0]
    assert torch.all(deep[:, 1:] > deep[:, :-1])  # still a ramp: every column brighter than the last
    assert deep.min() > -1 and deep.max() < 1
    assert torch.allclose(deep, shallow, atol=3 / 255)


def test_eight_bit_images_load_exactly_as_before(tmp_path):
    """The old loader: Image.open(..).convert("RGB"), Resize, CenterCrop, (Grayscale), ToTensor, *2-1."""
    from torchvision import datasets, transforms

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(_mk(tmp_path / "a" / "rgb.png"))
    Image.fromarray(rng.integers(0, 256, (9, 30), dtype=np.uint8)).save(_mk(tmp_path / "a" / "gray.png"))
    opaque = rng.integers(0, 256, (20, 20, 4), dtype=np.uint8)
    opaque[..., 3] = 255  # an RGBA file with nothing transparent (transparency: tests/data/test_colour_folders.py)
    Image.fromarray(opaque).save(_mk(tmp_path / "b" / "alpha.png"))
    Image.fromarray(rng.integers(0, 256, (16, 11, 3), dtype=np.uint8)).convert("P").save(_mk(tmp_path / "b" / "pal.png"))
    Image.fromarray(rng.integers(0, 256, (13, 13, 3), dtype=np.uint8)).save(_mk(tmp_path / "b" / "photo.jpg"), quality=90)
    Image.fromarray(rng.integers(0, 2, (12, 12), dtype=np.uint8) * 255).convert("1").save(_mk(tmp_path / "b" / "bits.bmp"))
    for channels in (1, 3):
        steps = [
            transforms.Resize(8),
            transforms.CenterCrop(8),
            *([transforms.Grayscale(1)] if channels == 1 else []),
            transforms.ToTensor(),
        ]
        old = datasets.ImageFolder(str(tmp_path), transform=transforms.Compose(steps), loader=lambda p: Image.open(p).convert("RGB"))
        expected = torch.stack([old[i][0] * 2 - 1 for i in range(len(old))])
        data = _load(tmp_path, size=8, channels=channels)
        assert torch.equal(data.images, expected)
        assert data.labels.tolist() == [label for _, label in old.samples]


def _mk(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_a_garbage_file_with_an_image_name_is_named_by_its_path(tmp_path):
    _classes(tmp_path, a=2, b=1)
    garbage = tmp_path / "b" / "garbage.png"
    garbage.write_bytes(bytes(range(256)) * 3)  # no image format starts like this
    msg = _error(lambda: _load(tmp_path))
    assert msg.startswith(f"data=imagefolder: cannot read the image {garbage}: cannot identify image file")
    assert "BufferedReader" not in msg and "name=" not in msg and "Traceback" not in msg


# -- huge images ------------------------------------------------------------------------------
def test_a_png_that_claims_30000x30000_pixels_is_refused_by_name(tmp_path):
    _classes(tmp_path, a=1)
    bomb = _claiming(tmp_path / "a" / "bomb.png", 30000, 30000)
    before = Image.MAX_IMAGE_PIXELS
    msg = _error(lambda: _load(tmp_path))
    assert str(bomb) in msg and "30000x30000 pixels" in msg and "data.max_pixels" in msg
    assert "set data.max_pixels=900000000 or higher" in msg and "Traceback" not in msg
    assert Image.MAX_IMAGE_PIXELS == before
    # allowed on purpose: the size check lets it through, and its (missing) pixel data is what fails
    msg = _error(lambda: _load(tmp_path, max_pixels=950_000_000))
    assert msg.startswith(f"data=imagefolder: cannot read the image {bomb}: ") and "truncated" in msg
    assert "max_pixels" not in msg
    assert Image.MAX_IMAGE_PIXELS == before


@pytest.mark.parametrize("limit", [1599, 800, 700])  # PIL warns above the limit and refuses above twice it
def test_max_pixels_refuses_larger_images_and_no_warning_escapes(tmp_path, limit):
    _png(tmp_path / "a" / "big.png", 9, size=(40, 40))  # 1600 pixels
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")  # a DecompressionBombWarning would escape as an exception here
        msg = _error(lambda: _load(tmp_path, max_pixels=limit))
    assert caught == []
    assert f"{tmp_path / 'a' / 'big.png'} claims to be 40x40 pixels (1,600 pixels), more than the {limit:,} pixels" in msg
    assert "set data.max_pixels=1600 or higher" in msg
    assert Image.MAX_IMAGE_PIXELS == before


def test_max_pixels_allows_an_image_of_exactly_that_size(tmp_path):
    _png(tmp_path / "a" / "big.png", 9, size=(40, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = _load(tmp_path, max_pixels=1600)
    assert data.images.shape == (1, 1, 6, 6)
    assert torch.allclose(data.images, torch.full_like(data.images, 9 / 255 * 2 - 1), atol=1e-6)


def test_max_pixels_is_an_option_that_must_be_positive():
    host = PluginHost(entry_points=[])
    cfg = resolve(["data=imagefolder", "data.root=x", "data.max_pixels=200000000"], host)
    assert cfg.to_dict()["data"]["max_pixels"] == 200_000_000
    assert resolve(["data=imagefolder", "data.root=x"], host).to_dict()["data"]["max_pixels"] is None
    with pytest.raises(ConfigError, match="data.max_pixels.*greater than or equal to 1"):
        resolve(["data=imagefolder", "data.root=x", "data.max_pixels=0"], host)


# -- roots ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layout,fragment",
    [
        ("missing", "does not exist"),
        ("file", "is not a folder"),
        ("empty", "found no class folders in ROOT: it is empty"),
        ("flat", "found no class folders in ROOT: it holds 1 file (x.png) and no subfolders"),
    ],
)
def test_root_errors_say_what_was_found_and_what_to_do(tmp_path, layout, fragment):
    root = tmp_path / "root"
    if layout == "file":
        root.write_text("x")
    elif layout != "missing":
        root.mkdir()
    if layout == "flat":
        _png(root / "x.png")
    msg = _error(lambda: _load(root))
    assert fragment.replace("ROOT", str(root)) in msg and "one subfolder per class" in msg


# -- through the engine -----------------------------------------------------------------------
def test_the_engine_runs_an_image_folder_and_reports_a_bomb_without_a_traceback(tmp_path, capsys):
    root = tmp_path / "root"
    _classes(root, a=3, b=2)
    os.symlink(".", root / "a" / "loop")
    argv = [
        "run",
        "preset=wgan-gp-paper",
        "data=imagefolder",
        f"data.root={root}",
        "data.size=8",
        "critic.width=2",
        "generator.base=32",
        "generator.z_dim=8",
        "train.batch_size=4",
        "train.n_critic=1",
        "train.progress=false",
        "train.sample_every=0",
    ]
    assert main(["run", "--dry-run", "--json", *argv[1:]]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == {"channels": 1, "size": 8, "num_classes": 2}  # grayscale images: 1 channel
    assert main([*argv, "train.steps=1", f"out={tmp_path / 'run'}"]) == 0
    err = capsys.readouterr().err
    assert "data=imagefolder: 2 classes: a 3, b 2 images" in err and "data=imagefolder: did not follow 1 folder link" in err

    _claiming(root / "b" / "bomb.png", 30000, 30000)
    assert main([*argv, "train.steps=1", f"out={tmp_path / 'run2'}"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert str(root / "b" / "bomb.png") in captured.err and "30000x30000" in captured.err and "data.max_pixels" in captured.err
    assert not (tmp_path / "run2").exists()
