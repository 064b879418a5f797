"""ganzoo's built-in components, imported as ``ganzoo_plugins``.

One module per component (or per family of near-identical components); each module implements
the registry hook of its kind. ``registry.toml`` lists every module here.
"""
