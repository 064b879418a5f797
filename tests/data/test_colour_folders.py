"""Colour images with transparency (data.alpha) and squaring (data.resize), decoded for real from tiny
files written here: every kind of transparency PIL reads gives the same pixels, compositing blends
by the alpha, keep makes an RGBA set, and no library warning escapes."""

import warnings

import numpy as np
import pytest
from PIL import Image

from ganzoo.data.decode import Decoder
from ganzoo.errors import ConfigError
from ganzoo.libwarnings import Shown
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost

GREEN, BLUE = (0, 255, 0), (0, 0, 255)


def _load(root, **options):
    cls = PluginHost(entry_points=[]).get("dataset", "imagefolder")
    return cls(cls.Config(root=str(root), cache=False, **options)).load()


def _save(im, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, **({"transparency": im.info["transparency"]} if "transparency" in im.info else {}))
    return path


def rgba(path, size=(4, 4)):
    """Opaque red; pixel (0, 0) fully transparent over green; pixel (1, 0) red at alpha 128."""
    a = np.zeros((size[1], size[0], 4), np.uint8)
    a[...] = (255, 0, 0, 255)
    a[0, 0] = (*GREEN, 0)
    a[0, 1] = (255, 0, 0, 128)
    return _save(Image.fromarray(a, "RGBA"), path)


def palette(path, size=(4, 4)):
    """The same picture as a palette image whose transparent index holds blue, with alpha per index
    as bytes (PNG tRNS with several entries: "transparency expressed in bytes")."""
    im = Image.new("P", size, 2)
    im.putpalette([*BLUE, 255, 0, 0, 255, 0, 0] + [0] * 759)  # 0: blue (transparent), 1: red at 128, 2: red
    im.putpixel((0, 0), 0)
    im.putpixel((1, 0), 1)
    im.info["transparency"] = b"\x00\x80"
    return _save(im, path)


def la(path, size=(4, 4)):
    """Grey with alpha: (0, 0) fully transparent over white grey."""
    a = np.full((size[1], size[0], 2), 255, np.uint8)
    a[0, 0] = (255, 0)
    return _save(Image.fromarray(a, "LA"), path)


def rgb_key(path, size=(4, 4)):
    """RGB whose transparent colour is blue, at (0, 0)."""
    im = Image.new("RGB", size, (255, 0, 0))
    im.putpixel((0, 0), BLUE)
    im.info["transparency"] = BLUE
    return _save(im, path)


def _read(path, alpha, resize="crop", channels=None, size=4):
    channels = channels or (4 if alpha == "keep" else 3)
    return Decoder(size, channels, False, None, alpha=alpha, resize=resize)(str(path))  # (C, S, S) uint8


ALPHAS = ["white", "black", "#3366cc", "navy", "drop", "keep"]


@pytest.mark.parametrize("alpha", ALPHAS)
def test_transparent_pixels_of_every_kind_of_file_come_out_identical(tmp_path, alpha):
    files = [rgba(tmp_path / "a.png"), palette(tmp_path / "p.png"), la(tmp_path / "la.png"), rgb_key(tmp_path / "k.png")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's palette warning would fail here
        corners = [_read(f, alpha)[:, 0, 0].tolist() for f in files]
    expected = {
        "white": [255, 255, 255],
        "black": [0, 0, 0],
        "#3366cc": [0x33, 0x66, 0xCC],
        "navy": [0, 0, 128],
        "drop": [0, 0, 0],
        "keep": [0, 0, 0, 0],
    }[alpha]
    assert corners == [expected] * 4


@pytest.mark.parametrize("maker", [rgba, palette])
def test_half_transparent_red_is_blended_by_its_alpha(tmp_path, maker):
    path = maker(tmp_path / "x.png")
    assert _read(path, "white")[:, 0, 1].tolist() == [255, 127, 127]  # 255 * a + 255 * (1 - a), a = 128/255
    assert _read(path, "black")[:, 0, 1].tolist() == [128, 0, 0]
    assert _read(path, "drop")[:, 0, 1].tolist() == [255, 0, 0]  # the colour, alpha discarded
    assert _read(path, "keep")[:, 0, 1].tolist() == [255, 0, 0, 128]
    assert _read(path, "white")[:, 3, 3].tolist() == [255, 0, 0]  # opaque pixels untouched


def test_white_compositing_on_one_channel_is_the_grey_of_the_blend(tmp_path):
    path = rgba(tmp_path / "x.png")
    grey = _read(path, "white", channels=1)
    assert grey.shape == (1, 4, 4)
    assert grey[0, 0, 0] == 255 and grey[0, 0, 1] == Image.new("RGB", (1, 1), (255, 127, 127)).convert("L").getpixel((0, 0))


def test_pad_keeps_the_whole_image_and_fills_with_the_background(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (8, 4), (255, 0, 0)).save(path)
    white = _read(path, "white", resize="pad", size=8)
    assert white[:, 0].tolist() == [[255] * 8, [255] * 8, [255] * 8]  # padded row
    assert white[:, 4, :].T.tolist() == [[255, 0, 0]] * 8  # the image, whole
    keep = _read(path, "keep", resize="pad", size=8)
    assert keep[3, 0].tolist() == [0] * 8 and keep[3, 4].tolist() == [255] * 8  # transparent padding, opaque image
    crop = _read(path, "white", size=4)
    assert crop.shape == (3, 4, 4) and (crop[0] == 255).all() and (crop[1] == 0).all()


def test_one_note_counts_the_transparent_images_and_says_what_was_done(tmp_path):
    rgba(tmp_path / "a" / "x.png")
    palette(tmp_path / "a" / "y.png")
    (tmp_path / "b").mkdir()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(tmp_path / "b" / "z.png")
    data = _load(tmp_path)
    notes = [n for n in data.notes if "transparency" in n]
    assert notes == ["2 of 3 images have transparency; composited onto white (data.alpha=white)"]
    keep = _load(tmp_path, alpha="keep")
    assert keep.shape == (3, 4, 4, 4) and keep.spec.channels == 4
    assert any(n.startswith("shape 4x4x4 from the images:") and "data.alpha=keep" in n for n in keep.notes), keep.notes
    assert keep.pixels[2, 3].tolist() == [[255] * 4] * 4  # an image without transparency: opaque alpha
    (tmp_path / "a" / "x.png").unlink()
    (tmp_path / "a" / "y.png").unlink()
    Image.new("RGB", (4, 4)).save(tmp_path / "a" / "w.png")
    assert not [n for n in _load(tmp_path).notes if "transparency" in n]


def test_the_cache_key_includes_alpha_and_resize(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    rgba(tmp_path / "d" / "a" / "x.png")
    cls = PluginHost(entry_points=[]).get("dataset", "imagefolder")

    def load(**options):
        return cls(cls.Config(root=str(tmp_path / "d"), cache=True, **options)).load()

    white, black, again = load(), load(alpha="black"), load()
    assert white.key != black.key and white.key == again.key
    assert white.pixels[0, :, 0, 0].tolist() == [255, 255, 255] and black.pixels[0, :, 0, 0].tolist() == [0, 0, 0]
    assert load(resize="pad").key not in (white.key, black.key)


@pytest.mark.parametrize(
    "option,fragments",
    [
        ("data.alpha=whte", ["'whte' is not a way to handle transparency", "Did you mean 'white'?", "drop", "keep", "#rrggbb"]),
        ("data.alpha=#12345", ["'#12345' is not a way to handle transparency", "Valid: white"]),
        ("data.resize=padd", ["'padd' is not a resize policy", "Did you mean 'pad'?", "crop"]),
        ("data.channels=2", ["channels must be 1 (grayscale), 3 (RGB) or 4 (RGBA, with data.alpha=keep)"]),
    ],
)
def test_bad_values_are_one_paragraph_with_the_valid_choices(option, fragments):
    with pytest.raises(ConfigError) as err:
        resolve(["data=imagefolder", "data.root=x", option], PluginHost(entry_points=[]))
    msg = str(err.value)
    assert "\n" not in msg and "Value error" not in msg and all(f in msg for f in fragments), msg


@pytest.mark.parametrize(
    "options,fragment",
    [(["data.alpha=keep", "data.channels=3"], "not data.channels=3"), (["data.channels=4"], "needs data.alpha=keep")],
)
def test_four_channels_go_with_keep_and_only_with_keep(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        resolve(["data=imagefolder", "data.root=x", *options], PluginHost(entry_points=[]))
    cfg = resolve(["data=imagefolder", "data.root=x", "data.alpha=KEEP", "data.channels=4"], PluginHost(entry_points=[]))
    assert cfg.to_dict()["data"]["alpha"] == "keep"


def test_library_warnings_become_one_note_or_nothing_and_ganzoos_stay_warnings(tmp_path):
    warned, noted = [], []
    path = palette(tmp_path / "p.png")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = Shown(warned.append, noted.append)
        with Image.open(path) as im:
            im.convert("RGB")  # PIL: "Palette images with Transparency expressed in bytes ..."
        for _ in range(2):
            warnings.warn_explicit(
                "Corrupt EXIF data.  Expecting to read 4 bytes but only got 0.", UserWarning, "PIL/TiffImagePlugin.py", 1
            )
        warnings.warn("skipped a damaged checkpoint", UserWarning)  # from this module: not a library
    assert warned == ["skipped a damaged checkpoint"]
    assert len(noted) == 1 and "damaged EXIF metadata" in noted[0]
