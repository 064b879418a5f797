"""A user's own images: one subfolder per class under ``data.root``, resized to ``data.size``.

Classes and labels are those ``torchvision.datasets.ImageFolder`` gives (class folders sorted by
name; files with an image extension, in subfolders too), but the folders are walked here, safely:

- a folder is read once however many links lead to it, so a symlink loop (``ln -s . a/loop``)
  is not followed, and a file reached by two paths (a link, a linked folder) counts once: where it
  really lives when it has a real path under ``data.root``, else in the first class that reaches it;
- a file with an image name that is not a regular file (a FIFO, socket, device or broken link) is
  skipped without being opened; the notes (:attr:`ganzoo.ImageData.notes`) say how many images
  each class has and what was skipped;
- 16-bit grayscale images (PIL modes ``I;16``, ``I;16B``, ``I``) are scaled by 1/65535, 32-bit
  float images (``F``) are read as values in [0, 1]; every other mode is converted as before
  (8-bit images load exactly as ``torchvision`` would load them);
- an image larger than ``data.max_pixels`` (default: PIL's decompression-bomb limit) is an error
  naming the file and its claimed size, before it is decoded.

Handling: images of mixed sizes are resized (shorter side) and centre-cropped; an image that
cannot be read is an error naming the file; a class folder without images, or a root without
class folders, is an error that says what was found.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import torch
from pydantic import Field, field_validator

import ganzoo

SHOWN_CLASSES = 20  # the per-class note lists this many classes, then a count of the rest
HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _extensions() -> tuple[str, ...]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return tuple(IMG_EXTENSIONS)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _kind(path: str) -> str:
    """What a non-regular file is, in words ("a FIFO", "a broken link")."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "a broken link" if os.path.islink(path) else "a file that cannot be inspected"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class _Walk:
    """The image files under each class folder, every folder read once and every file counted once."""

    def __init__(self, root: str, classes: list[str], extensions: tuple[str, ...]):
        self.root, self.classes, self.extensions = root, classes, extensions
        self.visited: set[tuple[int, int]] = set()
        self.found: dict[tuple[int, int], tuple[bool, int, str, str]] = {}  # file id -> (via link, class, dir, name)
        self.duplicates: list[tuple[str, tuple[int, int], int]] = []  # (path, file id, class) of paths not counted
        self.links_not_followed: list[str] = []  # folder links that lead to a folder already read
        self.special: list[tuple[str, int]] = []  # (path, class) of image names that are not regular files
        self.others: list[list[str]] = [[] for _ in classes]  # files without an image extension, per class

    def run(self) -> list[tuple[str, int]]:
        dirs = [os.path.join(self.root, c) for c in self.classes]
        self.visited.add(_ident(self.root))
        self.visited.update(_ident(d) for d in dirs)
        deferred: list[list[str]] = [[] for _ in self.classes]
        for i, d in enumerate(dirs):  # first the real folders of every class, so links never steal them
            self._tree(i, d, via_link=False, deferred=deferred[i])
        for i in range(len(self.classes)):  # then the folder links, each target read once
            while deferred[i]:
                link = deferred[i].pop(0)
                try:
                    ident = _ident(link)
                except OSError:
                    continue
                if ident in self.visited:
                    self.links_not_followed.append(link)
                    continue
                self.visited.add(ident)
                self._tree(i, link, via_link=True, deferred=deferred[i])
        samples = sorted((label, d, name) for _, label, d, name in self.found.values())
        return [(os.path.join(d, name), label) for label, d, name in samples]

    def _tree(self, label: int, top: str, via_link: bool, deferred: list[str]) -> None:
        stack = [top]
        while stack:
            here = stack.pop()
            try:
                with os.scandir(here) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                raise ganzoo.DataError(
                    f"data=imagefolder: cannot list the folder {here}: {_one_line(exc.strerror or exc)}. "
                    "Make it readable, or move it out of data.root."
                ) from None
            subdirs = []
            for e in entries:
                try:
                    is_link, is_dir = e.is_symlink(), e.is_dir()
                except OSError:
                    is_link, is_dir = True, False
                if is_dir and is_link:
                    deferred.append(e.path)
                elif is_dir:
                    ident = _ident(e.path, e)
                    if ident in self.visited:  # a bind mount or hard-linked folder seen before
                        self.links_not_followed.append(e.path)
                    else:
                        self.visited.add(ident)
                        subdirs.append(e.path)
                elif e.name.lower().endswith(self.extensions):
                    self._file(label, here, e, via_link or is_link)
                else:
                    self.others[label].append(e.path)
            stack.extend(reversed(subdirs))

    def _file(self, label: int, here: str, e: os.DirEntry, via_link: bool) -> None:
        try:
            st = e.stat()  # follows links; never opens the file
        except OSError:
            self.special.append((e.path, label))
            return
        if not stat.S_ISREG(st.st_mode):
            self.special.append((e.path, label))
            return
        ident = (st.st_dev, st.st_ino)
        mine = (via_link, label, here, e.name)
        old = self.found.get(ident)
        if old is None:
            self.found[ident] = mine
            return
        keep, drop = (mine, old) if mine < old else (old, mine)  # a real path wins over a link, then the first class
        self.found[ident] = keep
        self.duplicates.append((os.path.join(drop[2], drop[3]), ident, drop[1]))

    def holds(self, label: int) -> str:
        """What a class folder without images holds, in words."""
        special = [p for p, c in self.special if c == label]
        dups = [p for p, _, c in self.duplicates if c == label]
        parts = []
        if special:
            parts.append(f"{_plural(len(special), 'special file')} with an image name, e.g. {special[0]} ({_kind(special[0])})")
        if dups:
            parts.append(f"{_plural(len(dups), 'second path')} to an image counted elsewhere, e.g. {dups[0]}")
        if self.others[label]:
            parts.append(f"{_plural(len(self.others[label]), 'file')} without an image extension, e.g. {self.others[label][0]}")
        return "; ".join(parts) if parts else "no files"


def _ident(path: str, entry: os.DirEntry | None = None) -> tuple[int, int]:
    st = entry.stat() if entry is not None else os.stat(path)
    return st.st_dev, st.st_ino


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


class ImageFolder(ganzoo.Dataset):
    name = "imagefolder"
    description = "your own images: one subfolder per class, resized and centre-cropped to data.size"
    reference = "torchvision.datasets.ImageFolder layout"

    class Config(ganzoo.Config):
        root: str = Field(..., description="folder with one subfolder of images per class")
        size: int = Field(32, ge=4, le=1024, description="images are resized and centre-cropped to size x size")
        channels: int = Field(3, ge=1, le=3, description="1 for grayscale, 3 for RGB")
        max_pixels: int | None = Field(
            None, ge=1,
            description="the largest image, in pixels, that will be decoded; default PIL's limit of about "
                        "89 million; set higher to allow bigger images",
        )

        @field_validator("channels")
        @classmethod
        def _one_or_three(cls, v: int) -> int:
            if v not in (1, 3):
                raise ValueError("channels must be 1 (grayscale) or 3 (RGB)")
            return v

    def load(self):
        root = str(Path(self.cfg.root).expanduser())
        expected = (f"Expected {root}/CLASS_NAME/IMAGE files (png, jpg, …), one subfolder per class, "
                    "each with at least one image.")
        if not os.path.isdir(root):
            what = "is not a folder" if os.path.exists(root) else "does not exist"
            raise ganzoo.DataError(
                f"data=imagefolder: the folder {root} {what}. {expected} "
                "Set data.root=DIR to a folder with one subfolder of images per class."
            )
        try:
            with os.scandir(root) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise ganzoo.DataError(f"data=imagefolder: cannot list the folder {root}: {_one_line(exc.strerror or exc)}. Make it readable, or set data.root=DIR to another folder.") from None
        classes = [e.name for e in entries if _is_dir(e)]
        if not classes:
            files = [e.name for e in entries]
            found = "it is empty" if not files else f"it holds {_plural(len(files), 'file')} ({', '.join(files[:3])}{', …' if len(files) > 3 else ''}) and no subfolders"
            raise ganzoo.DataError(
                f"data=imagefolder: found no class folders in {root}: {found}. {expected} "
                "Move each class's images into its own subfolder, or set data.root to the folder that holds the class folders."
            )
        self._check_class_folders(root, classes)
        extensions = _extensions()
        walk = _Walk(root, classes, extensions)
        samples = walk.run()
        counts = [0] * len(classes)
        for _, label in samples:
            counts[label] += 1
        empty = [i for i, n in enumerate(counts) if n == 0]
        if empty:
            shown = "; ".join(f"{os.path.join(root, classes[i])} holds {walk.holds(i)}" for i in empty[:3])
            more = f"; and {len(empty) - 3} more" if len(empty) > 3 else ""
            raise ganzoo.DataError(
                f"data=imagefolder: {_plural(len(empty), 'class folder')} without images: {shown}{more}. "
                f"Images are regular files ending in {', '.join(extensions)}, each counted once. {expected} "
                "Add images to these folders or remove them."
            )
        images, labels = self._decode_all(samples)
        return ganzoo.ImageData(images, labels, tuple(classes), self._notes(walk, classes, counts))

    @staticmethod
    def _check_class_folders(root: str, classes: list[str]) -> None:
        """Two class names for one folder, or a class folder that holds ``data.root``, would count
        images twice or under a wrong label."""
        real_root = os.path.realpath(root)
        seen: dict[tuple[int, int], str] = {}
        for c in classes:
            path = os.path.join(root, c)
            real = os.path.realpath(path)
            if real_root == real or real_root.startswith(real.rstrip(os.sep) + os.sep):
                raise ganzoo.DataError(
                    f"data=imagefolder: the class folder {path} is a link to {real}, which holds data.root itself, "
                    "so its images would be counted again under another class. Remove the link, or replace it with a folder of its own."
                )
            ident = _ident(path)
            if ident in seen:
                raise ganzoo.DataError(
                    f"data=imagefolder: the class folders {os.path.join(root, seen[ident])} and {path} are the same folder "
                    f"(one is a link to the other), so the same images would be counted under two labels. "
                    "Remove the link, or replace it with a copy if the images really belong to both classes."
                )
            seen[ident] = c

    def _decode_all(self, samples: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        from PIL import Image

        saved = Image.MAX_IMAGE_PIXELS
        limit = self.cfg.max_pixels if self.cfg.max_pixels is not None else saved
        images, labels = [], []
        try:
            Image.MAX_IMAGE_PIXELS = limit
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)  # a refusal, not a warning
                for path, label in samples:
                    images.append(self._decode(path, limit) * 2 - 1)  # (C, size, size) in [-1, 1]
                    labels.append(label)
        finally:
            Image.MAX_IMAGE_PIXELS = saved
        return torch.stack(images), torch.tensor(labels, dtype=torch.int64)

    def _decode(self, path: str, limit: int | None) -> torch.Tensor:
        from PIL import Image

        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise ganzoo.DataError(f"data=imagefolder: cannot read the image {path}: {_one_line(exc.strerror or exc)}. Make it readable, or remove or replace the file.") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced by a FIFO or device since the walk
                raise ganzoo.DataError(f"data=imagefolder: the image {path} is no longer a regular file. Remove it, or replace it with an image file.")
            try:
                with Image.open(f) as im:
                    if limit is not None and im.size[0] * im.size[1] > limit:
                        raise Image.DecompressionBombError("over the limit")
                    return self._to_tensor(im)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise self._too_large(path, limit) from None
            except ganzoo.DataError:
                raise
            except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, EOFError, struct.error, …
                raise ganzoo.DataError(f"data=imagefolder: cannot read the image {path}: {_one_line(exc)}. Remove or replace the file.") from None

    def _to_tensor(self, im) -> torch.Tensor:
        """(C, size, size) in [0, 1]: 8-bit modes through PIL as torchvision does, 16-bit and float scaled."""
        from torchvision import transforms

        size, channels = self.cfg.size, self.cfg.channels
        crop = [transforms.Resize(size), transforms.CenterCrop(size)]
        if im.mode in HIGH_DEPTH_MODES:
            scale = 1.0 if im.mode == "F" else 65535.0
            gray = im.convert("F").point(lambda v: v * (1.0 / scale))  # 32-bit float, resized and cropped in PIL
            x = transforms.ToTensor()(transforms.Compose(crop)(gray)).clamp_(0, 1)  # (1, size, size)
            return x.expand(channels, -1, -1).contiguous()
        steps = crop + ([transforms.Grayscale(1)] if channels == 1 else []) + [transforms.ToTensor()]
        return transforms.Compose(steps)(im.convert("RGB"))

    @staticmethod
    def _too_large(path: str, limit: int | None) -> ganzoo.DataError:
        from PIL import Image

        saved, size = Image.MAX_IMAGE_PIXELS, None
        try:
            Image.MAX_IMAGE_PIXELS = None  # read the header only, to say the size it claims
            with open(path, "rb") as f, Image.open(f) as im:
                size = im.size
        except Exception:
            pass
        finally:
            Image.MAX_IMAGE_PIXELS = saved
        claimed = f"{size[0]}x{size[1]} pixels ({size[0] * size[1]:,} pixels)" if size else "more pixels than allowed"
        need = f"data.max_pixels={size[0] * size[1]}" if size else "data.max_pixels=N"
        return ganzoo.DataError(
            f"data=imagefolder: the image {path} claims to be {claimed}, more than the {limit or 0:,} pixels "
            "data.max_pixels allows (by default PIL's limit against decompression bombs: a small file that "
            f"claims a huge size to exhaust memory). If you trust the file and mean to use an image this large, set {need} "
            "or higher; otherwise remove or replace the file."
        )

    @staticmethod
    def _notes(walk: _Walk, classes: list[str], counts: list[int]) -> tuple[str, ...]:
        shown = ", ".join(f"{c} {n}" for c, n in zip(classes[:SHOWN_CLASSES], counts))
        rest = len(classes) - SHOWN_CLASSES
        if rest > 0:  # "1000 classes, 12000 images: n01 12, n02 11, … and 980 more classes"
            notes = [f"{len(classes)} classes, {sum(counts)} images: {shown} and {rest} more classes"]
        else:  # "3 classes: a 3, b 5, c 4 images"
            notes = [f"{_plural(len(classes), 'class')}: {shown} {'image' if counts == [1] else 'images'}"]
        if walk.special:
            first = walk.special[0][0]
            one = len(walk.special) == 1
            notes.append(f"skipped {_plural(len(walk.special), 'file')} with an image name that {'is not a regular file' if one else 'are not regular files'} "
                         f"(a FIFO, socket, device or broken link), e.g. {first} ({_kind(first)})")
        if walk.links_not_followed:
            first = walk.links_not_followed[0]
            notes.append(f"did not follow {_plural(len(walk.links_not_followed), 'folder link')} to a folder already read "
                         f"(a loop, or a second path to the same folder), e.g. {first} -> {os.path.realpath(first)}")
        if walk.duplicates:
            path, ident, _ = walk.duplicates[0]
            _, label, d, name = walk.found[ident]
            notes.append(f"counted {_plural(len(walk.duplicates), 'file')} reached by a second path only once, "
                         f"e.g. {path} is the same file as {os.path.join(d, name)} (class {classes[label]})")
        return tuple(notes)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows links, as torchvision's class scan does
    except OSError:
        return False


@ganzoo.hookimpl
def register_datasets(register):
    register(ImageFolder)
