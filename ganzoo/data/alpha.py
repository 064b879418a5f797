"""Transparency and squaring: what ``data.alpha`` and ``data.resize`` do to one image.

Every kind of transparency PIL reads follows one rule: an alpha channel (``RGBA``, ``LA``, ``PA``),
a palette with a transparent index or per-index alpha bytes (``tRNS``), and a transparent colour of
an ``RGB`` or ``L`` image. Such an image is converted to ``RGBA`` first (for a palette image, never
through ``RGB``, which is what made PIL warn), then:

- a colour (``white``, the default; ``black``; ``#rrggbb``; a colour name PIL knows): composited
  onto it, ``colour * a + background * (1 - a)`` for an alpha ``a`` in [0, 1], rounded;
- ``drop``: the alpha channel is discarded; fully transparent pixels become black, whatever colour
  the file stored under them, and partly transparent ones keep their colour;
- ``keep``: held as a fourth channel (the set is RGBA); fully transparent pixels become black, so
  two files that both say "transparent here" give the same four values.

So a fully transparent pixel comes out the same whichever kind of file it came from. Images without
transparency are read exactly as before. ``data.resize=crop`` resizes the shorter side and
centre-crops; ``pad`` resizes the longer side and pads to a square with the background colour
(black for ``drop``, transparent for ``keep``).
"""

from __future__ import annotations

import re

import numpy as np

from ganzoo.errors import did_you_mean

ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})  # PIL modes with an alpha channel
WORDS = ("white", "black", "drop", "keep")
RESIZES = ("crop", "pad")
TRANSPARENT = "+transparency"  # appended to a header's mode when the file names a transparent colour or palette alpha
HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _names() -> dict[str, str]:
    from PIL import ImageColor

    return ImageColor.colormap


def check_alpha(text: str) -> str:
    """``text`` as a valid data.alpha (lower case), or ValueError listing the valid choices."""
    word = str(text).strip().lower()
    if word in WORDS or HEX.fullmatch(word) or word in _names():
        return word
    raise ValueError(
        f"'{text}' is not a way to handle transparency.{did_you_mean(str(text), (*WORDS, *_names()))} Valid: white (the "
        "default), black, any colour as #rrggbb (e.g. #808080) or a colour name PIL knows (e.g. grey, navy), to composite "
        "transparent images onto it; drop, to discard the alpha channel; keep, to hold it as a fourth channel (RGBA images)"
    )


def check_resize(text: str) -> str:
    word = str(text).strip().lower()
    if word in RESIZES:
        return word
    raise ValueError(
        f"'{text}' is not a resize policy.{did_you_mean(str(text), RESIZES)} Valid: crop (resize the shorter side and "
        "centre-crop; the default) or pad (resize the longer side and pad to a square)"
    )


def background(alpha: str) -> tuple[int, int, int]:
    """The RGB a transparent pixel becomes: the colour named, black for ``drop`` and ``keep``."""
    if alpha in ("drop", "keep"):
        return (0, 0, 0)
    from PIL import ImageColor

    return ImageColor.getrgb(alpha)[:3]


def described(alpha: str) -> str:
    """What was done with transparency, in words, for the note."""
    if alpha == "keep":
        return "kept as a fourth channel: the set is RGBA, fully transparent pixels black (data.alpha=keep)"
    if alpha == "drop":
        return "alpha dropped: fully transparent pixels black, the others keep their colour (data.alpha=drop)"
    return f"composited onto {alpha} (data.alpha={alpha})"


def mode_of(im) -> str:
    """The image's PIL mode, with :data:`TRANSPARENT` appended when it names a transparent colour or
    palette alpha (``info["transparency"]``) without having an alpha channel. Not for 16-bit and
    float grey images: their transparent value is not read (they are decoded as grey)."""
    keyed = im.mode not in ALPHA_MODES and not im.mode.startswith(("I", "F")) and im.info.get("transparency") is not None
    return im.mode + (TRANSPARENT if keyed else "")


def base_mode(mode: str) -> str:
    return mode.removesuffix(TRANSPARENT)


def has_transparency(mode: str) -> bool:
    """True for a mode from :func:`mode_of` that has an alpha channel or a transparent colour."""
    return mode in ALPHA_MODES or mode.endswith(TRANSPARENT)


def flatten(im, alpha: str):
    """An 8-bit image as PIL ``RGB`` (``RGBA`` for ``keep``), transparency handled as ``alpha`` says.
    An image without transparency is ``convert("RGB")`` as before (``keep``: with an opaque alpha)."""
    from PIL import Image

    if not has_transparency(mode_of(im)):
        return im.convert("RGBA" if alpha == "keep" else "RGB")
    rgba = np.asarray(im.convert("RGBA"), dtype=np.uint8)  # (H, W, 4); a palette goes straight to RGBA
    rgb, a = rgba[..., :3].astype(np.uint32), rgba[..., 3:].astype(np.uint32)  # (H, W, 3), (H, W, 1)
    if alpha in ("drop", "keep"):
        rgb = np.where(a == 0, np.uint32(0), rgb)  # fully transparent: black, whatever the file stored
        if alpha == "keep":
            return Image.fromarray(np.concatenate([rgb, a], axis=2).astype(np.uint8), "RGBA")
        return Image.fromarray(rgb.astype(np.uint8), "RGB")
    bg = np.asarray(background(alpha), dtype=np.uint32)  # (3,)
    mixed = (rgb * a + bg * (255 - a) + 127) // 255  # colour * a + background * (1 - a), rounded to nearest
    return Image.fromarray(mixed.astype(np.uint8), "RGB")


def fit(im, size: int, resize: str, fill):
    """``im`` at ``size`` x ``size``: shorter side resized and centre-cropped (``crop``, as torchvision's
    Resize + CenterCrop), or longer side resized and padded with ``fill`` (``pad``)."""
    import torchvision.transforms.functional as TF

    if im.size == (size, size):
        return im
    if resize == "crop":
        return TF.center_crop(TF.resize(im, size), size)
    from PIL import Image

    w, h = im.size
    nw, nh = max(1, round(w * size / max(w, h))), max(1, round(h * size / max(w, h)))
    canvas = Image.new(im.mode, (size, size), fill)
    canvas.paste(TF.resize(im, [nh, nw]), ((size - nw) // 2, (size - nh) // 2))
    return canvas


def fill(alpha: str, mode: str):
    """What ``pad`` fills with, in PIL ``mode``: the background colour; transparent for ``keep``;
    for a float grey image (``F``), the background's grey level in [0, 1]."""
    r, g, b = background(alpha)
    if mode == "RGBA":
        return (0, 0, 0, 0) if alpha == "keep" else (r, g, b, 255)
    if mode == "F":
        return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0
    return (r, g, b)
