"""`ganzoo doctor`: every finding provoked for real on a small run and named there, and not named on
healthy runs; the evidence it reads is logged without changing the maths; the command, its JSON,
the warning during training and the compare column.

The runs are small (synthetic 8x8 or 16x16 images, 3 classes, up to 500 steps) and trained once
per module, when a test first needs them; the tests that train are marked slow. They have no
larger size: GANZOO_SLOW=full runs them as they are.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
from helpers import TINY
from torch import nn

from ganzoo.cli import main
from ganzoo.components import Constraint, Loss
from ganzoo.diagnosis.doctor import examine
from ganzoo.diagnosis.monitor import Monitor
from ganzoo.diagnosis.findings import FINDINGS, KEYS
from ganzoo.registry.config import flatten, resolve
from ganzoo.registry.host import PluginHost
from ganzoo.registry.overrides import parse_overrides
from ganzoo.runs.launch import start
from ganzoo.storage.folder import read_config, read_metrics
from ganzoo.training.diagnostics import Evidence, finish
from ganzoo.training.loop import Trainer

# The hand-found default recipe (conditional DCGAN, BatchNorm critic, non-saturating loss, Adam 2e-4)
# at toy sizes, on which the thresholds were set: it learns its 3 synthetic classes in 500 steps
# (class consistency 0.40 at step 100 -> 0.94 at step 500 by the yardstick of issue 24, whose judge
# is stricter with the half-learnt patterns of step 300 than the first one was: 0.50 there, against
# 0.79). Its loss and rates are written out, as the default preset has since changed to ganzoo tune's recipe.
SMALL = [
    "loss=nonsaturating",
    "train.lr_g=2e-4",
    "train.lr_d=2e-4",
    "data=synthetic",
    "data.n=256",
    "data.size=16",
    "data.num_classes=3",
    "critic.width=16",
    "generator.base=32",
    "generator.z_dim=16",
    "train.batch_size=32",
    "train.steps=300",
    "train.sample_every=50",
    "train.checkpoint_every=0",
    "train.progress=false",
    "train.precision=fp32",
]  # the thresholds were set on fp32 runs; the default (auto) is bf16 on some CPUs
SMALL_MLP = [o for o in SMALL if not o.startswith("generator.base")]

RUNS = {
    # healthy runs: the conditional DCGAN; a WGAN-GP (LayerNorm critic); weight clipping on a critic without norm layers
    "healthy": [*SMALL, "train.steps=500", "train.eval_every=100"],
    "healthy-gp": [*SMALL, "train.steps=150", "loss=wasserstein", "constraint=gp", "critic.norm=layer"],
    "healthy-clip": [*SMALL, "train.steps=150", "constraint=clip", "critic.norm=none", "loss=wasserstein"],
    # each provokes a failure
    "clip-layernorm": [*TINY, "constraint=clip", "train.steps=40"],
    "penalty-weight-1000": [*SMALL, "train.steps=150", "loss=wasserstein", "constraint=gp", "critic.norm=layer", "constraint.weight=1000"],
    "critic-lr-x100": [*SMALL, "train.lr_d=2e-2"],
    "tiny-generator": [*SMALL_MLP, "generator=mlp", "generator.width=4", "generator.depth=1", "critic.width=64"],
    "critic-lr-div100": [*SMALL, "train.steps=150", "train.lr_d=2e-6"],
    "generator-lr-x100": [*SMALL, "train.lr_g=2e-2", "train.eval_every=100"],
    "no-conditioning": [*SMALL, "critic.encoder=none", "generator.encoder=none", "train.eval_every=100"],
    "tiny-learning-rates": [*SMALL, "train.steps=100", "train.lr_g=2e-7", "train.lr_d=2e-7", "train.eval_every=100"],
    "unconstrained-wasserstein": [*SMALL, "train.steps=200", "loss=wasserstein", "train.lr_d=3e-3"],
    "nan-retries": [*TINY, "train.steps=10"],
}
FAULTS = {"nan-retries": "nan:loss_g:3"}  # a NaN in generator step 3's loss: the guard undoes it and retries
PROVOKED = [
    ("no_signal", "clip-layernorm"),
    ("penalty_dominates", "penalty-weight-1000"),
    ("critic_overpowers", "critic-lr-x100"),
    ("critic_overpowers", "tiny-generator"),
    ("generator_overpowers", "critic-lr-div100"),
    ("mode_collapse", "generator-lr-x100"),
    ("conditioning_ignored", "no-conditioning"),
    ("too_slow", "tiny-learning-rates"),
    ("numerical", "unconstrained-wasserstein"),
    ("numerical", "nan-retries"),
]
HEALTHY = ("healthy", "healthy-gp", "healthy-clip")
FAILURES = [k for k in KEYS if k != "healthy"]


class Notes:
    """A reporter that keeps the notes a run writes."""

    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def start(self, total, done): ...
    def step(self, step, rate, record): ...
    def close(self): ...

    def note(self, text, level="info"):
        self.lines.append((level, text))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``runs(name) -> (run folder, notes)``, training each run the first time it is asked for."""
    root = tmp_path_factory.mktemp("doctor")
    done: dict[str, tuple] = {}
    threads = torch.get_num_threads()

    def get(name: str):
        if name not in done:
            torch.set_num_threads(1)
            notes = Notes()
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("GANZOO_CACHE", str(root / "cache"))  # the evaluator is trained once, here
                if name in FAULTS:
                    mp.setenv("GANZOO_FAULT", FAULTS[name])
                try:
                    done[name] = (start([*RUNS[name], f"out={root / name}"], PluginHost(entry_points=[]), notes), notes)
                finally:
                    torch.set_num_threads(threads)
        return done[name]

    return get


def _keys(run_dir):
    return [f.key for f in examine(run_dir).findings]


@pytest.mark.slow
@pytest.mark.parametrize("finding,run", PROVOKED, ids=[f"{k}-{r}" for k, r in PROVOKED])
def test_a_provoked_failure_is_named_with_evidence_cause_and_a_valid_change(runs, finding, run):
    run_dir, _ = runs(run)
    report = examine(run_dir)
    named = {f.key: f for f in report.findings}
    assert finding in named, (run, [(f.key, f.evidence) for f in report.findings])
    f = named[finding]
    assert any(ch.isdigit() for ch in f.evidence) and f.cause and "=" in f.change
    # the evidence is named numbers, and the sentence is made from them alone
    assert f.numbers and all(
        v is None or isinstance(v, (int, float)) or (isinstance(v, list) and all(isinstance(x, int) for x in v)) for v in f.numbers.values()
    ), f.numbers
    assert next(c for c in FINDINGS if c.key == finding).render(f.numbers) == f.evidence
    assert "healthy" not in named
    # the change to try is a valid override of this run's configuration (unknown keys or refused
    # combinations would raise here); as on the command line, a newly picked part drops the old one's options
    stored = flatten(read_config(run_dir)["config"])
    change = parse_overrides(f.change.split())  # as the command line reads it (a list in brackets)
    kept = {k: v for k, v in stored.items() if not any(k.startswith(c + ".") and str(v) != change[c] for c in change if k != c)}
    resolve({**kept, **change}, PluginHost(entry_points=[]), use_preset=False)


@pytest.mark.slow
@pytest.mark.parametrize("run", HEALTHY)
@pytest.mark.parametrize("finding", FAILURES)
def test_a_healthy_run_does_not_name_the_failure(runs, run, finding):
    run_dir, notes = runs(run)
    assert finding not in _keys(run_dir)
    assert not [text for level, text in notes.lines if level == "warning"]


@pytest.mark.slow
def test_the_healthy_run_is_called_healthy_with_the_trend_of_each_quality_number(runs):
    report = examine(runs("healthy")[0])
    assert [f.key for f in report.findings] == ["healthy"]
    text = report.main.evidence
    for label in ("class consistency", "intra-class diversity", "FD / floor", "KID"):
        assert f"{label} " in text and "at step 500, from" in text, text
    assert "(better)" in text


@pytest.mark.slow
def test_clip_names_the_norm_gains_as_the_cause_and_warns_during_training(runs):
    run_dir, notes = runs("clip-layernorm")
    f = examine(run_dir).main
    assert f.key == "no_signal" and "critic.norm=layer" in f.cause and f.change == "constraint=gp"
    assert "clip limit" in f.evidence and f.since is not None and f.since <= 10
    warnings = [text for level, text in notes.lines if level == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith(f"the critic gives no signal since step {f.since}: see ganzoo doctor ")


@pytest.mark.slow
def test_mode_collapse_is_warned_during_training_by_the_doctors_rule(runs):
    """The recorder feeds its quality scores to the monitor, so the collapse the doctor names afterwards
    was warned once, online, by the same rule (there is no second collapse warning)."""
    run_dir, notes = runs("generator-lr-x100")
    f = {f.key: f for f in examine(run_dir).findings}["mode_collapse"]
    warnings = [text for level, text in notes.lines if level == "warning"]
    collapse = [w for w in warnings if w.startswith("mode collapse")]
    assert collapse == [f"mode collapse since step {f.since}: see ganzoo doctor {run_dir}"], warnings
    assert not any("collapsed to" in w for w in warnings)


def test_the_monitor_reads_quality_scores_and_warns_once():
    config = resolve([*TINY, "train.steps=100"], PluginHost(entry_points=[])).to_dict()
    monitor = Monitor(config, every=1000)  # step lines alone never reach a check here
    assert [monitor.see({"step": s, "loss_d": 0.1, "loss_g": 0.2, "wasserstein": 0.1}) for s in (1, 2)] == [[], []]
    assert monitor.see({"step": 2, "eval": {"diversity": 0.9, "class_acc": 0.5}}) == []
    assert monitor.see({"step": 4, "eval": {"diversity": 0.3, "class_acc": 0.5}}) == ["mode collapse since step 4"]
    assert monitor.see({"step": 6, "eval": {"diversity": 0.2, "class_acc": 0.5}}) == []  # once per finding


@pytest.mark.slow
def test_nan_retries_are_recorded_and_counted(runs):
    run_dir, _ = runs("nan-retries")
    lines = [r for r in read_metrics(run_dir / "metrics.jsonl") if "loss_d" in r]
    assert [(r["step"], r.get("retries")) for r in lines if "retries" in r] == [(3, 1)]
    f = {f.key: f for f in examine(run_dir).findings}["numerical"]
    assert f.numbers["retries"] == 1 and f.numbers["retried_steps"] == [3] and "1 NaN/Inf retry on 1 of 10 steps" in f.evidence


@pytest.mark.slow
def test_the_evidence_is_logged_per_step_and_per_top_level_block(runs):
    run_dir, _ = runs("healthy")
    lines = [r for r in read_metrics(run_dir / "metrics.jsonl") if "loss_d" in r]
    assert len(lines) == 500
    trainer = Trainer(resolve(RUNS["healthy"], PluginHost(entry_points=[])), PluginHost(entry_points=[]))
    blocks = {n for n, c in trainer.critic.named_children() if any(p.requires_grad for p in c.parameters())}
    g_blocks = {n for n, c in trainer.generator.named_children() if any(p.requires_grad for p in c.parameters())}
    for r in lines:
        assert 0 <= r["critic_acc"] <= 1 and r["real_score_sd"] >= 0 and r["fake_score_sd"] >= 0 and r["g_update"] > 0
        assert {k.split(".", 1)[1] for k in r if k.startswith("grad_critic.")} == blocks
        assert {k.split(".", 1)[1] for k in r if k.startswith("grad_generator.")} == g_blocks
        total = math.sqrt(sum(r[f"grad_critic.{b}"] ** 2 for b in blocks))
        assert r["grad_critic"] == pytest.approx(total, rel=1e-4)
        assert "penalty_share" not in r and "clipped_share" not in r  # no penalty, no clipping in this recipe
    clip = [r for r in read_metrics(runs("healthy-clip")[0] / "metrics.jsonl") if "loss_d" in r]
    assert all(0 < r["clipped_share"] <= 1 and "critic_acc" not in r for r in clip)  # Wasserstein: no classifier reading


def test_diag_every_picks_the_steps_and_changes_no_number_of_the_run(tmp_path, host):
    lines = {}
    for every in (0, 1, 3):
        run_dir = start([*TINY, "train.steps=6", f"train.diag_every={every}", f"out={tmp_path / str(every)}"], host)
        lines[every] = [r for r in read_metrics(run_dir / "metrics.jsonl") if "loss_d" in r]
    core = ("loss_d", "wasserstein", "penalty", "loss_g")
    assert [[r[k] for k in core] for r in lines[0]] == [[r[k] for k in core] for r in lines[1]] == [[r[k] for k in core] for r in lines[3]]
    assert not any("real_score" in r for r in lines[0])
    assert all("real_score" in r and "penalty_share" in r for r in lines[1])
    assert [r["step"] for r in lines[3] if "real_score" in r] == [3, 6]


def test_evidence_figures_match_a_direct_computation():
    torch.manual_seed(0)
    critic, generator = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 1)), nn.Sequential(nn.Linear(2, 4))

    class Logistic(Loss):
        decision_threshold = 0.0

    class Penalised(Constraint):
        def penalty(self, critic, real, fake, labels, step):
            return None

    ev = Evidence(critic, generator, Logistic(None), Penalised(None), every=1, device=torch.device("cpu"))
    ev.begin(0)
    real, fake = torch.tensor([1.0, 2.0, -1.0, 3.0]), torch.tensor([-2.0, 0.5, -1.0, -3.0])
    critic(torch.randn(5, 4)).sum().backward()
    ev.critic_step(real, fake, torch.tensor(-2.0), torch.tensor(6.0))
    ev.before_generator_update()
    before = [p.detach().clone() for p in generator.parameters()]
    generator(torch.randn(3, 2)).sum().backward()
    with torch.no_grad():
        for p in generator.parameters():
            p.add_(0.01 * torch.ones_like(p))
    ev.after_generator_update()
    got = finish({k: float(v) for k, v in ev.figures().items()})
    assert got["critic_acc"] == pytest.approx(0.5 * (3 / 4 + 3 / 4))
    assert got["real_score"] == pytest.approx(1.25) and got["real_score_sd"] == pytest.approx(real.std(correction=0).item())
    assert got["penalty_share"] == pytest.approx(6 / 8)
    grads = [p.grad.flatten() for p in critic.parameters()]
    assert got["grad_critic"] == pytest.approx(torch.cat(grads).norm().item(), rel=1e-5)
    assert set(k for k in got if k.startswith("grad_critic.")) == {"grad_critic.0", "grad_critic.1"}
    change = torch.cat([(p.detach() - b).flatten() for p, b in zip(generator.parameters(), before)]).norm()
    assert got["g_update"] == pytest.approx((change / torch.cat([b.flatten() for b in before]).norm()).item(), rel=1e-4)


@pytest.mark.slow
def test_doctor_command_text_json_and_errors(runs, capsys, tmp_path):
    run_dir, _ = runs("clip-layernorm")
    assert main(["doctor", str(run_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["findings"][0]["key"] == "no_signal" and data["findings"][0]["change"] == "constraint=gp"
    assert set(data["findings"][0]) == {"key", "title", "since", "evidence", "cause", "change", "numbers"}
    numbers = data["findings"][0]["numbers"]  # what the sentence says, for a program
    assert (
        numbers["since"] == data["findings"][0]["since"]
        and f"at most {numbers['score_spread']:.3g} within a batch" in data["findings"][0]["evidence"]
    )
    assert main(["doctor", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "the critic gives no signal since step" in out and "try: constraint=gp" in out
    assert main(["doctor", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "is not a ganzoo run folder" in err and "Traceback" not in err


@pytest.mark.slow
def test_junk_lines_in_metrics_are_named_and_the_valid_ones_scored(tmp_path, host, capsys):
    run = start([*TINY, "train.steps=4", "train.sample_every=0", f"out={tmp_path / 'run'}"], host)
    clean = examine(run)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    junk = [
        lines[0],
        "garbage {{",
        lines[1],
        '"a string"',
        lines[2],
        '{"step": "three", "loss_d": 1}',
        lines[3],
        '{"step": 5, "loss_d": 0.1, "wass',
    ]
    (run / "metrics.jsonl").write_text("\n".join(junk) + "\n")
    report = examine(run)
    assert [f.line() for f in report.findings] == [f.line() for f in clean.findings]  # scored from the valid lines
    assert [f.evidence for f in report.findings] == [f.evidence for f in clean.findings]
    (note,) = [n for n in report.notes if "not step records" in n]
    assert "4 line(s)" in note and "line 2, 4, 6, 8" in note and "the 4 valid step line(s)" in note
    assert main(["doctor", str(run)]) == 0 and "line 2, 4, 6, 8" in " ".join(capsys.readouterr().out.split())


def test_compare_shows_each_runs_main_finding(runs, capsys):
    a, b = runs("clip-layernorm")[0], runs("healthy-gp")[0]
    assert main(["compare", str(a), str(b), "--markdown"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].rstrip(" |").endswith("main finding")
    assert "the critic gives no signal since step" in table[2].split("|")[-2] and table[3].split("|")[-2].strip() == "healthy"


def test_a_suggested_list_is_written_in_brackets_and_resolves(host):
    """Advice is a command line: a list it suggests uses the list form, not alternatives."""
    from ganzoo.diagnosis import advice
    from ganzoo.diagnosis.evidence import RunEvidence, Seen

    stored = resolve([*TINY, "train.betas=[0.9,0.999]", "train.lr_d=1e-4", "train.lr_g=1e-4"], host).to_dict()
    cause, change = advice.generator_overpowers(RunEvidence.live(stored, []), Seen(5, {}, "oscillate"))
    assert change == "train.betas=[0.5,0.999]" and "train.betas=[0.9,0.999]" in cause
    assert resolve([*TINY, *change.split()], host).train.betas == (0.5, 0.999)


def test_a_detector_returns_numbers_and_the_sentence_is_made_from_them():
    """critic_overpowers on hand-made step lines: the evidence is a dict of named numbers (what --json
    carries), and the rendered sentence says exactly those numbers."""
    from ganzoo.diagnosis import findings, prose
    from ganzoo.diagnosis.doctor import Report, diagnose
    from ganzoo.diagnosis.evidence import RunEvidence

    steps = [
        {
            "step": s,
            "loss_d": 0.1,
            "loss_g": 1.0,
            "wasserstein": 2.0,
            "real_score_sd": 0.1,
            "fake_score_sd": 0.1,
            "critic_acc": 1.0,
            "grad_critic": 1.0 if s <= 5 else 0.01,
            "grad_generator": 0.5,
        }
        for s in range(1, 41)
    ]
    seen = findings.critic_overpowers(RunEvidence({}, steps))
    assert seen.since == 1 and seen.numbers == {
        "since": 1,
        "last_step": 40,
        "right_share": 1.0,
        "critic_acc": 1.0,
        "critic_grad_drop": 100.0,
        "critic_grad_early": 1.0,
        "critic_grad_late": 0.01,
        "generator_grad_vs_peak": 1.0,
    }
    text = prose.critic_overpowers(seen.numbers)
    assert text == (
        "from step 1 to 40 the critic called at least 99% of real and generated images right on 100% of the diagnosed steps "
        "(median 100.0%); its own gradient norm fell 100x (from 1 to 0.01): it has nothing left to learn from the generated images."
    )
    assert prose.critic_overpowers({**seen.numbers, "critic_grad_drop": 250.0}).count("fell 250x") == 1  # the words follow the numbers
    (found,) = [f for f in diagnose(RunEvidence({}, steps)) if f.key == "critic_overpowers"]
    assert found.evidence == text and found.numbers == seen.numbers
    (shown,) = [f for f in Report("run", [found], []).to_json()["findings"]]
    assert shown["numbers"]["critic_grad_drop"] == 100.0 and shown["evidence"] == text
    assert Report("run", [dataclasses.replace(found, numbers={"x": math.nan})], []).to_json()["findings"][0]["numbers"] == {"x": None}
