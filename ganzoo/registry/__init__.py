"""Names to parts: the plugin host (the only code that calls ``pm.hook``), the catalogue of built-ins
and presets, the run configuration, the compatibility rules, and building components from a config.

Read in this order: :mod:`~ganzoo.registry.host`, :mod:`~ganzoo.registry.catalogue`,
:mod:`~ganzoo.registry.config`, :mod:`~ganzoo.registry.compat`, :mod:`~ganzoo.registry.build`.
"""
