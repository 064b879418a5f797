"""A user's own images: one subfolder per class under ``data.root``, resized to ``data.size``.

Handling: images of mixed sizes are resized (shorter side) and centre-cropped; an image that
cannot be read is an error naming the file; a class folder without images, or a root without
class folders, is an error that says what was found.
"""

from pathlib import Path
import torch
from pydantic import Field, field_validator

import ganzoo


class ImageFolder(ganzoo.Dataset):
    name = "imagefolder"
    description = "your own images: one subfolder per class, resized and centre-cropped to data.size"
    reference = "torchvision.datasets.ImageFolder layout"

    class Config(ganzoo.Config):
        root: str = Field(..., description="folder with one subfolder of images per class")
        size: int = Field(32, ge=4, le=1024, description="images are resized and centre-cropped to size x size")
        channels: int = Field(3, ge=1, le=3, description="1 for grayscale, 3 for RGB")

        @field_validator("channels")
        @classmethod
        def _one_or_three(cls, v: int) -> int:
            if v not in (1, 3):
                raise ValueError("channels must be 1 (grayscale) or 3 (RGB)")
            return v

    def load(self):
        from PIL import Image, UnidentifiedImageError
        from torchvision import datasets, transforms

        root = Path(self.cfg.root).expanduser()
        if not root.is_dir():
            raise ganzoo.DataError(f"data=imagefolder: the folder {root} does not exist. Set data.root=DIR to a folder with one subfolder of images per class.")
        size, channels = self.cfg.size, self.cfg.channels
        steps = [transforms.Resize(size), transforms.CenterCrop(size)]
        if channels == 1:
            steps.append(transforms.Grayscale(1))
        steps.append(transforms.ToTensor())
        tf = transforms.Compose(steps)

        def loader(path: str):
            with open(path, "rb") as f:
                return Image.open(f).convert("RGB")

        try:
            ds = datasets.ImageFolder(str(root), transform=tf, loader=loader)
        except FileNotFoundError as exc:
            raise ganzoo.DataError(
                f"data=imagefolder: {exc}. Expected {root}/CLASS_NAME/IMAGE files (png, jpg, …), one "
                "subfolder per class, each with at least one image."
            ) from None
        images, labels = [], []
        for path, label in ds.samples:
            try:
                img = ds.loader(path)
            except (OSError, UnidentifiedImageError) as exc:
                raise ganzoo.DataError(f"data=imagefolder: cannot read the image {path}: {exc}. Remove or replace the file.") from None
            images.append(tf(img) * 2 - 1)  # (C, size, size) in [-1, 1]
            labels.append(label)
        return ganzoo.ImageData(torch.stack(images), torch.tensor(labels, dtype=torch.int64), tuple(ds.classes))


@ganzoo.hookimpl
def register_datasets(register):
    register(ImageFolder)
