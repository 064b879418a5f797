import re

import pytest

from ganzoo.registry.config import parse_overrides, parse_value, resolve
from ganzoo.errors import ConfigError


def test_parse_overrides_splits_on_first_equals_and_later_wins():
    assert parse_overrides(["a=1", "b.c=x=y", "a=2"]) == {"a": "2", "b.c": "x=y"}


@pytest.mark.parametrize(
    "raw,expected", [("5", "5"), ("[1, 2]", ["1", "2"]), ("[]", []), ("[[0,0.9],[0.5,0.99]]", [["0", "0.9"], ["0.5", "0.99"]])]
)
def test_parse_value(raw, expected):
    assert parse_value(raw) == expected


@pytest.mark.parametrize("bad", ["critic", "=x", "  =1"])
def test_malformed_override_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides([bad])


def test_preset_then_overrides(host):
    cfg = resolve(["preset=seed", "train.steps=7", "critic.norm=none"], host)
    assert cfg.train.steps == 7
    assert cfg.train.n_critic == 4 and cfg.train.lr_d == 5e-5 and cfg.train.batch_size == 64
    assert cfg.options("critic").norm == "none"
    assert cfg.options("generator").z_dim == 256
    assert cfg.train.betas == (0.9, 0.999)


def test_betas_parse_from_a_bracketed_list(host):
    assert resolve(["train.betas=[0.5,0.99]"], host).train.betas == (0.5, 0.99)


@pytest.mark.parametrize(
    "item,did_you_mean",
    [
        ("train.betas=0.5,0.999", "train.betas=[0.5,0.999]"),
        ("resume.allow=train.lr_d,train.steps", "resume.allow=[train.lr_d,train.steps]"),
        ("train.betas=[0,0.9],[0.5,0.99]", "train.betas=[[0,0.9],[0.5,0.99]]"),
    ],
)
def test_a_bare_comma_means_alternatives_and_one_run_refuses_them(item, did_you_mean, capsys):
    """One meaning of key=a,b everywhere: alternatives (ganzoo sweep, bench --matrix); a run takes one
    value per key, so it refuses them with the list form as its did-you-mean."""
    from ganzoo.cli import main

    assert main(["run", "--dry-run", item]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("error:") == 1 and "Traceback" not in err
    assert f"{item} gives 2 alternatives" in err and f"Did you mean the list {did_you_mean}?" in err and f"ganzoo sweep {item}" in err


def test_switching_component_drops_the_presets_options_for_it(host):
    cfg = resolve(["data=synthetic"], host)  # the default preset sets no data.* options, synthetic has its own
    assert cfg.name("data") == "synthetic" and cfg.options("data").num_classes == 10


@pytest.mark.parametrize(
    "overrides,fragments",
    [
        (["critic=layrnorm_cond"], ["Unknown critic 'layrnorm_cond'", "Did you mean 'layernorm_cond'", "Valid choices"]),
        (["critic.nrom=layer"], ["Unknown option 'critic.nrom'", "Did you mean 'norm'", "critic.width"]),
        (["critic.norm=bach"], ["Unknown normaliser 'bach'", "Did you mean 'batch'"]),
        (["trian.steps=3"], ["Unknown key 'trian.steps'", "Did you mean 'train'"]),
        (["train.steps=-1"], ["train.steps", "greater than or equal to 1"]),
        (["train.steps=many"], ["train.steps", "valid integer"]),
        (["train.betas=[1.5,0.9]"], ["train.betas", "[0, 1)"]),
        (["train.device=tpu"], ["train.device", "'auto', 'cpu' or 'cuda'"]),
        (["seed=x"], ["seed must be an integer"]),
        (["preset=sed"], ["Unknown preset 'sed'", "Did you mean 'seed'"]),
        (["critic.norm.x.y=1"], ["Unknown key"]),
        (["critic.norm.x=1"], ["Unknown option 'critic.norm.x' for normaliser 'batch'", "Valid options: (none)"]),
        (["critic.norm=group", "critic.norm.grups=4"], ["Unknown option 'critic.norm.grups'", "Did you mean 'groups'"]),
        (["critic.norm=group", "critic.norm.groups=0"], ["critic.norm.groups", "greater than or equal to 1"]),
        (["critic.nrom.groups=4"], ["critic.nrom.groups", "Did you mean 'norm'", "critic.norm.OPTION"]),
        (["critic.norm.x.y=1"], ["KIND.FIELD.OPTION"]),
        (["critic.width.x=1"], ["critic.width.x", "only options that pick a component"]),
    ],
)
def test_bad_input_names_the_key_and_the_choices(host, overrides, fragments):
    with pytest.raises(ConfigError) as err:
        resolve(overrides, host)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_to_dict_round_trips_through_resolve(host):
    from ganzoo.registry.config import flatten

    cfg = resolve(["preset=seed", "data=synthetic", "seed=5"], host)
    again = resolve(flatten(cfg.to_dict()), host, use_preset=False)
    assert again.to_dict() == cfg.to_dict()


def test_each_key_goes_where_its_shape_says():
    from ganzoo.registry.keys import route

    r = route(
        {
            "critic": "dcgan",
            "critic.norm": "layer",
            "critic.norm.groups": "8",
            "train.steps": "3",
            "seed": "1",
            "resume": "x",
            "resume.allow": "seed",
        }
    )
    assert r.picks == {"critic": "dcgan"} and r.options["critic"] == {"norm": "layer"} and r.options["train"] == {"steps": "3"}
    assert r.nested["critic"] == {"norm": {"groups": "8"}} and r.scalars == {"seed": "1", "resume": "x"}
    for bad in ("critic.", "train", "seed.x", "train.a.b", "critic.norm.groups.x", ".critic"):
        with pytest.raises(ConfigError, match=f"Unknown key '{re.escape(bad)}'"):
            route({bad: "1"})
    with pytest.raises(ConfigError, match="only applies together with resume=RUN_DIR"):
        route({"resume.allow": "seed"})
    with pytest.raises(ConfigError, match="'critic' picks a component by name, got 3"):
        route({"critic": 3})
