"""A user's own images: one subfolder per class under ``data.root``.

The work is the engine's (``ganzoo.load_image_folder``; ``ganzoo/data/``), so a third-party
dataset can do the same with ``ganzoo.FolderConfig``:

- classes and labels as ``torchvision.datasets.ImageFolder`` gives them, the folders walked safely:
  a symlink loop is not followed, a file reached by two paths counts once, a FIFO or broken link
  with an image name is skipped unopened, and the notes say how many images each class has and what
  was skipped;
- the shape comes from the images unless ``data.size`` / ``data.channels`` say otherwise: their own
  size when they agree, 1 channel when every image is grayscale;
- transparency (alpha channels, palette tRNS, a transparent colour) follows ``data.alpha``: composited
  onto white by default (or black, any colour), dropped, or kept as a 4th channel (an RGBA set and
  generator); ``data.resize`` crops (default) or pads images to square; a note counts the images
  with transparency;
- decoded in parallel worker processes, with a progress line, into uint8 (a quarter of float32's
  memory; 16-bit images keep their precision as float32), and cached under ``$GANZOO_CACHE`` so the
  next run starts in seconds;
- streamed from disk, batch by batch, when the decoded set would exceed ``data.max_memory``;
- ``data.flip`` and ``data.balance`` change how training samples it;
- an image larger than ``data.max_pixels`` (default: PIL's decompression-bomb limit) is an error
  naming the file and its claimed size, before anything is decoded; an image that cannot be read,
  a class folder without images, or a root without class folders is an error that says what was found.
"""

from __future__ import annotations

from pydantic import Field

import ganzoo


class ImageFolder(ganzoo.Dataset):
    name = "imagefolder"
    description = "your own images: one subfolder per class; shape from the images, decoded in parallel, cached, streamed when too big"
    reference = "torchvision.datasets.ImageFolder layout"

    class Config(ganzoo.FolderConfig):
        root: str = Field(..., description="folder with one subfolder of images per class")

    def load(self):
        return ganzoo.load_image_folder(self.cfg.root, self.cfg)


@ganzoo.hookimpl
def register_datasets(register):
    register(ImageFolder)
