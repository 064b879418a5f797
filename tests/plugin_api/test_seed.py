"""The seed experiment's architecture: exact parameter counts, reported by the dry run."""

import json

from ganzoo.cli import main


def test_dry_run_reports_the_seed_parameter_counts(capsys):
    code = main(["run", "--dry-run", "--json", "preset=seed", "data=synthetic", "data.num_classes=20"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params"] == {"critic": 353_017, "generator": 6_557_661}
    assert result["config"]["train"]["batch_size"] == 64
    assert result["config"]["train"]["n_critic"] == 4
    assert result["config"]["train"]["lr_g"] == result["config"]["train"]["lr_d"] == 5e-5
    assert result["config"]["constraint"] == {"name": "gp", "weight": 10.0, "interval": 1, "target": 1.0}
    assert result["config"]["generator"]["z_dim"] == 256
    assert result["data"] == {"channels": 1, "size": 28, "num_classes": 20}


def test_counts_change_with_the_number_of_classes(capsys):
    main(["run", "--dry-run", "--json", "preset=seed", "data=synthetic", "data.num_classes=10"])
    params = json.loads(capsys.readouterr().out)["params"]
    # Embedding(K, K) + Linear(K, 784) in the critic and Embedding(K, K) + Linear(K, 49) in the generator.
    assert params["critic"] == 353_017 - (400 + 20 * 784) + (100 + 10 * 784)
    assert params["generator"] == 6_557_661 - (400 + 20 * 49) + (100 + 10 * 49)
