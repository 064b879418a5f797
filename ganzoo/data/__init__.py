"""Reading image sets at real sizes, for any dataset plugin: the engine half of ``data=imagefolder``.

- :mod:`~ganzoo.data.walk`: a folder with one subfolder per class, walked safely (links, FIFOs);
- :mod:`~ganzoo.data.decode`: one image's header and pixels; the shape chosen from the images;
- :mod:`~ganzoo.data.parallel`: many files at once, in worker processes, with progress;
- :mod:`~ganzoo.data.progress`: the progress callback and the plain progress line;
- :mod:`~ganzoo.data.cache`: the decoded cache under ``$GANZOO_CACHE``, checksummed;
- :mod:`~ganzoo.data.stream`: images decoded batch by batch, for sets bigger than memory;
- :mod:`~ganzoo.data.order`: the epoch order, ``balance`` and ``flip``, exactly resumable;
- :mod:`~ganzoo.data.folder`: the options and the loaders plugins call (``ganzoo.load_image_folder``).
"""
