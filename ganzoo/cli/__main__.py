"""``python -m ganzoo.cli ...`` is the ``ganzoo`` command (torchrun launches it so)."""

from ganzoo.cli import main

raise SystemExit(main())
