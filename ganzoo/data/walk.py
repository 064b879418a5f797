"""Finding the images of a folder with one subfolder per class, safely.

Classes and labels are those ``torchvision.datasets.ImageFolder`` gives (class folders sorted by
name; files with an image extension, in subfolders too), but the folders are walked here:

- a folder is read once however many links lead to it, so a symlink loop (``ln -s . a/loop``)
  is not followed, and a file reached by two paths (a link, a linked folder) counts once: where it
  really lives when it has a real path under the root, else in the first class that reaches it;
- a file with an image name that is not a regular file (a FIFO, socket, device or broken link) is
  skipped without being opened;
- inside a class folder, hidden files and folders (names starting with "."; ``.DS_Store``, macOS's
  ``._x.png``, ``.ipynb_checkpoints``) are skipped, and so are files without an image extension
  (``notes.txt``); one note counts both (a hidden class folder is still a class, as torchvision's);
- a class folder without images, a root without class folders, or two class names for one folder,
  is an error that says what was found and what to do.

Nothing here opens an image file: :func:`scan` returns the paths, labels and each file's size,
modification time and inode (what the decoded cache is keyed by), and notes for the user.
It is longer than 300 lines as ruff formats it: one walker class keeps the state its steps share.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ganzoo.errors import DataError

SHOWN_CLASSES = 20  # the per-class note lists this many classes, then a count of the rest


@dataclass(frozen=True)
class Listing:
    """What :func:`scan` found: ``paths[i]`` has label ``labels[i]`` and ``stats[i]`` = (bytes,
    mtime in ns, inode); ``notes`` start with the images per class, then what was skipped and why."""

    root: str
    classes: tuple[str, ...]
    paths: tuple[str, ...]
    labels: tuple[int, ...]
    stats: tuple[tuple[int, int, int], ...]
    notes: tuple[str, ...]


# The file types read as images: torchvision's ImageFolder list (IMG_EXTENSIONS), written out here
# because importing torchvision for it took 1.6 s, most of a cached start of 50,000 images.
EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def extensions() -> tuple[str, ...]:
    return EXTENSIONS


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def kind(path: str) -> str:
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


def count_note(classes: list[str] | tuple[str, ...], counts: list[int]) -> str:
    """How many images each class has: "3 classes: a 3, b 5, c 4 images" (the first 20 classes, then a count)."""
    shown = ", ".join(f"{c} {n}" for c, n in zip(classes[:SHOWN_CLASSES], counts))
    rest = len(classes) - SHOWN_CLASSES
    if rest > 0:  # "1000 classes, 12000 images: n01 12, n02 11, … and 980 more classes"
        return f"{len(classes)} classes, {sum(counts)} images: {shown} and {rest} more classes"
    return f"{plural(len(classes), 'class')}: {shown} {'image' if list(counts) == [1] else 'images'}"


def _ident(path: str, entry: os.DirEntry | None = None) -> tuple[int, int]:
    st = entry.stat() if entry is not None else os.stat(path)
    return st.st_dev, st.st_ino


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()  # follows links, as torchvision's class scan does
    except OSError:
        return False


class _Walk:
    """The image files under each class folder, every folder read once and every file counted once."""

    def __init__(self, root: str, classes: list[str], exts: tuple[str, ...], who: str):
        self.root, self.classes, self.extensions, self.who = root, classes, exts, who
        self.visited: set[tuple[int, int]] = set()
        self.found: dict[tuple[int, int], tuple[bool, int, str, str]] = {}  # file id -> (via link, class, dir, name)
        self.stats: dict[tuple[int, int], tuple[int, int, int]] = {}  # file id -> (bytes, mtime ns, inode)
        self.duplicates: list[tuple[str, tuple[int, int], int]] = []  # (path, file id, class) of paths not counted
        self.links_not_followed: list[str] = []  # folder links that lead to a folder already read
        self.special: list[tuple[str, int]] = []  # (path, class) of image names that are not regular files
        self.others: list[list[str]] = [[] for _ in classes]  # files without an image extension, per class
        self.hidden: list[list[str]] = [[] for _ in classes]  # names starting with ".", per class

    def run(self) -> list[tuple[str, int, tuple[int, int, int]]]:
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
        samples = sorted((label, d, name, ident) for ident, (_, label, d, name) in self.found.items())
        return [(os.path.join(d, name), label, self.stats[ident]) for label, d, name, ident in samples]

    def _tree(self, label: int, top: str, via_link: bool, deferred: list[str]) -> None:
        stack = [top]
        while stack:
            here = stack.pop()
            try:
                with os.scandir(here) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                raise DataError(
                    f"{self.who}: cannot list the folder {here}: {one_line(exc.strerror or exc)}. "
                    "Make it readable, or move it out of data.root."
                ) from None
            subdirs = []
            for e in entries:
                if e.name.startswith("."):  # .DS_Store, ._x.png (macOS metadata), .ipynb_checkpoints: never images
                    self.hidden[label].append(e.path)
                    continue
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
        self.stats[ident] = (st.st_size, st.st_mtime_ns, st.st_ino)
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
            parts.append(f"{plural(len(special), 'special file')} with an image name, e.g. {special[0]} ({kind(special[0])})")
        if dups:
            parts.append(f"{plural(len(dups), 'second path')} to an image counted elsewhere, e.g. {dups[0]}")
        if self.others[label]:
            parts.append(f"{plural(len(self.others[label]), 'file')} without an image extension, e.g. {self.others[label][0]}")
        if self.hidden[label]:
            parts.append(f"{plural(len(self.hidden[label]), 'hidden file')} (a name starting with '.'), e.g. {self.hidden[label][0]}")
        return "; ".join(parts) if parts else "no files"

    def notes(self, counts: list[int]) -> tuple[str, ...]:
        classes = self.classes
        notes = [count_note(classes, counts)]
        hidden = [p for paths in self.hidden for p in paths]
        others = [p for paths in self.others for p in paths]
        if hidden or others:
            parts = [f"{len(hidden)} hidden (a name starting with '.'), e.g. {hidden[0]}"] if hidden else []
            parts += [f"{len(others)} without an image extension, e.g. {others[0]}"] if others else []
            n = len(hidden) + len(others)
            notes.append(f"skipped {plural(n, 'file')} that {'is not an image' if n == 1 else 'are not images'}: {'; '.join(parts)}")
        if self.special:
            first = self.special[0][0]
            one = len(self.special) == 1
            notes.append(
                f"skipped {plural(len(self.special), 'file')} with an image name that "
                f"{'is not a regular file' if one else 'are not regular files'} "
                f"(a FIFO, socket, device or broken link), e.g. {first} ({kind(first)})"
            )
        if self.links_not_followed:
            first = self.links_not_followed[0]
            notes.append(
                f"did not follow {plural(len(self.links_not_followed), 'folder link')} to a folder already read "
                f"(a loop, or a second path to the same folder), e.g. {first} -> {os.path.realpath(first)}"
            )
        if self.duplicates:
            path, ident, _ = self.duplicates[0]
            _, label, d, name = self.found[ident]
            notes.append(
                f"counted {plural(len(self.duplicates), 'file')} reached by a second path only once, "
                f"e.g. {path} is the same file as {os.path.join(d, name)} (class {classes[label]})"
            )
        return tuple(notes)


def scan(root: str, who: str = "data=imagefolder") -> Listing:
    """The images under ``root`` (one subfolder per class), or a :class:`DataError` that says what was
    found instead. ``who`` starts every message ("data=imagefolder")."""
    root = str(Path(root).expanduser())
    expected = f"Expected {root}/CLASS_NAME/IMAGE files (png, jpg, …), one subfolder per class, each with at least one image."
    if not os.path.isdir(root):
        what = "is not a folder" if os.path.exists(root) else "does not exist"
        raise DataError(
            f"{who}: the folder {root} {what}. {expected} Set data.root=DIR to a folder with one subfolder of images per class."
        )
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        raise DataError(
            f"{who}: cannot list the folder {root}: {one_line(exc.strerror or exc)}. Make it readable, or set data.root=DIR to "
            "another folder."
        ) from None
    classes = [e.name for e in entries if _is_dir(e)]  # hidden ones too, as torchvision's (labels stay the same)
    if not classes:
        files = [e.name for e in entries]
        found = (
            "it is empty"
            if not files
            else f"it holds {plural(len(files), 'file')} ({', '.join(files[:3])}{', …' if len(files) > 3 else ''}) and no subfolders"
        )
        raise DataError(
            f"{who}: found no class folders in {root}: {found}. {expected} "
            "Move each class's images into its own subfolder, or set data.root to the folder that holds the class folders."
        )
    _check_class_folders(root, classes, who)
    exts = extensions()
    walk = _Walk(root, classes, exts, who)
    samples = walk.run()
    counts = [0] * len(classes)
    for _, label, _ in samples:
        counts[label] += 1
    empty = [i for i, n in enumerate(counts) if n == 0]
    if empty:
        shown = "; ".join(f"{os.path.join(root, classes[i])} holds {walk.holds(i)}" for i in empty[:3])
        more = f"; and {len(empty) - 3} more" if len(empty) > 3 else ""
        raise DataError(
            f"{who}: {plural(len(empty), 'class folder')} without images: {shown}{more}. "
            f"Images are regular files ending in {', '.join(exts)}, each counted once. {expected} "
            "Add images to these folders or remove them."
        )
    return Listing(
        root,
        tuple(classes),
        tuple(p for p, _, _ in samples),
        tuple(c for _, c, _ in samples),
        tuple(s for _, _, s in samples),
        walk.notes(counts),
    )


def _check_class_folders(root: str, classes: list[str], who: str) -> None:
    """Two class names for one folder, or a class folder that holds the root, would count images
    twice or under a wrong label."""
    real_root = os.path.realpath(root)
    seen: dict[tuple[int, int], str] = {}
    for c in classes:
        path = os.path.join(root, c)
        real = os.path.realpath(path)
        if real_root == real or real_root.startswith(real.rstrip(os.sep) + os.sep):
            raise DataError(
                f"{who}: the class folder {path} is a link to {real}, which holds data.root itself, "
                "so its images would be counted again under another class. Remove the link, or replace it with a folder of its own."
            )
        ident = _ident(path)
        if ident in seen:
            raise DataError(
                f"{who}: the class folders {os.path.join(root, seen[ident])} and {path} are the same folder "
                f"(one is a link to the other), so the same images would be counted under two labels. "
                "Remove the link, or replace it with a copy if the images really belong to both classes."
            )
        seen[ident] = c
