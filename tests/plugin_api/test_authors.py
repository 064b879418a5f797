"""What a plugin author needs is documented and shown: every flag and attribute of the component
bases is in docs/plugins.md, `ganzoo show` lists a component's options, `ganzoo list` names the
provider, and `--dry-run` says which preset options a component switch dropped."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from torch import nn

from helpers import TINY
from ganzoo.cli import main
from ganzoo.components import BASES, Component
from ganzoo.penalties import Penalty

ROOT = Path(__file__).resolve().parents[2]  # the repository
DOCS = (ROOT / "docs" / "plugins.md").read_text()


def public_attributes(cls: type) -> set[str]:
    """Flags, attributes and methods a class declares for its subclasses (not those of nn.Module)."""
    names = set()
    for klass in cls.__mro__:
        if klass in (object, nn.Module) or klass.__module__.startswith("torch"):
            continue
        names |= {n for n in vars(klass) if not n.startswith("_")}
    return names


@pytest.mark.parametrize("kind", sorted(BASES))
def test_every_flag_and_attribute_of_the_component_bases_is_documented(kind):
    missing = sorted(n for n in public_attributes(BASES[kind]) if f"`{n}" not in DOCS)
    assert not missing, f"docs/plugins.md does not mention {missing} of ganzoo.{BASES[kind].__name__}"


def test_the_penalty_base_and_its_hooks_arguments_are_documented():
    assert not sorted(n for n in public_attributes(Penalty) if f"`{n}" not in DOCS)
    for name, fn in [("penalty", Penalty.penalty), ("term", Penalty.term)]:
        for arg in list(inspect.signature(fn).parameters)[1:]:
            assert arg in DOCS, f"{name}'s argument {arg} is not in docs/plugins.md"
    assert public_attributes(Component) >= {"name", "description", "reference", "kind"}


def test_the_documented_and_example_penalties_refuse_torch_compile(host):
    """The docs' ZeroCentredGP and the example package's set double_backward, so train.compile is refused."""
    example = (ROOT / "examples" / "ganzoo-example-plugin" / "ganzoo_example_plugin" / "penalty.py").read_text()
    assert "double_backward = True" in example
    start = DOCS.index("class ZeroCentredGP")
    assert "double_backward = True" in DOCS[start : start + 600]


def test_show_lists_every_option_with_type_default_bounds_and_sub_options(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # a narrow terminal wraps the option names inside their cells
    assert main(["show", "critic", "dcgan", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    options = {o["key"]: o for o in info["options"]}
    assert (
        options["critic.width"]["type"] == "int"
        and options["critic.width"]["default"] == 64
        and ">= 1" in options["critic.width"]["allowed"]
    )
    assert (
        "cbn" not in options["critic.encoder"]["allowed"] and "projection" in options["critic.encoder"]["allowed"]
    )  # encoders usable in a critic
    assert "critic.encoder" in info["sub_options"] and info["provider"] == "ganzoo_plugins.critics.dcgan"
    assert main(["show", "dataset", "synthetic"]) == 0
    out = capsys.readouterr().out
    assert "data.num_classes" in out and "number of classes" in out
    assert main(["show", "critic", "dcgn"]) == 2
    assert "Did you mean 'dcgan'" in capsys.readouterr().err


def test_list_shows_the_provider(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list", "loss"]) == 0
    out = capsys.readouterr().out
    assert "provider" in out and "losses.hinge" in out


def test_dry_run_says_which_preset_options_a_component_switch_dropped(capsys):
    assert main(["run", "--dry-run", "--json", *TINY, "critic=dcgan"]) == 0
    dropped = json.loads(capsys.readouterr().out)["dropped_from_preset"]
    assert dropped["options"]["critic.norm"] == "layer" and "replaced" in dropped["note"]  # wgan-gp-paper's critic.* options
    assert "critic.width" not in dropped["options"]  # the user's own critic.width=2 stays
    assert main(["run", "--dry-run", "--json", *TINY]) == 0
    assert "dropped_from_preset" not in json.loads(capsys.readouterr().out)
