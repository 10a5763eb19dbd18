"""Sweep files: the shipped ones load; a bad one is a one-line ConfigError naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from experiments.spec import known_sweeps, load_sweep

TRAIN = "defaults: ../base.yaml\n"


def test_every_shipped_sweep_loads_and_its_configs_validate():
    from experiments.sweep import cell_config, cells

    assert "fsdd_regimes" in known_sweeps()
    for name in known_sweeps():
        sweep = load_sweep(name)
        for arm, seed in cells(sweep):
            cfg = cell_config(sweep, arm, seed, tiny=False).to_dict()
            for key in sweep.seed_keys:  # each seed sets its keys (the test fold, for a cross-validation)
                section, name = key.split(".")
                assert cfg[section][name] == seed
        for arm, seed in cells(sweep, tiny=True):
            cell_config(sweep, arm, seed, tiny=True)


def test_fsdd_regimes_compares_at_equal_steps_and_warmup():
    sweep = load_sweep("fsdd_regimes")
    from experiments.sweep import cell_config

    configs = {a.name: cell_config(sweep, a, 0, tiny=False) for a in sweep.arms if a.kind == "train"}
    trained = [c for n, c in configs.items() if n != "random_init"]
    assert {c.schedule.steps for c in trained} == {1110}
    assert {c.schedule.warmup_steps for c in trained} == {111}
    assert {c.model.regime for c in trained} == {"supervised", "simclr", "clar"}
    assert {c.model.encoder for c in trained} == {"small_cnn_2d", "small_cnn_1d"}
    assert configs["random_init"].schedule.steps is None and configs["random_init"].schedule.epochs == 0


def test_fsdd_labels_probes_at_the_fraction_of_the_arms_it_is_compared_with():
    """1 % and 100 %: equal steps; each probe arm at its own fraction; CLAR and SimCLR probed the same way."""
    from experiments.sweep import cell_config

    sweep = load_sweep("fsdd_labels")

    def fraction(name: str) -> float:
        arm = sweep.arm(name)
        if arm.kind == "probe":
            return arm.options["label_fraction"]
        source = arm if arm.kind == "train" else sweep.arm(arm.source)
        return cell_config(sweep, source, 0, tiny=False).data.label_fraction

    trained = [cell_config(sweep, a, 0, tiny=False) for a in sweep.arms if a.kind == "train"]
    assert {c.schedule.steps for c in trained} == {1110} and {c.schedule.warmup_steps for c in trained} == {111}
    for suffix, f in (("1", 0.01), ("100", 1.0)):
        for name in ("supervised", "clar", "clar_probe", "simclr_probe", "baseline"):
            assert fraction(f"{name}_{suffix}") == f, name
    assert sweep.arm("clar_probe_1").kind == sweep.arm("simclr_probe_1").kind == "probe"
    supervised_1 = cell_config(sweep, sweep.arm("supervised_1"), 0, tiny=False)
    assert supervised_1.data.batch_size == 20  # all 20 labelled clips (2 a class) in every step
    for c in sweep.compare:
        if c.claim != "c" or "100 %" not in c.says or "1 %" not in c.says:
            assert fraction(c.a) == fraction(c.b), c


def _write(folder: Path, sweep: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.yaml").write_text("model:\n  regime: clar\n")
    (folder / "sweep.yaml").write_text(sweep)
    return folder


GOOD_ARM = "  - {name: a, config: a.yaml, score: test/best/head_acc}\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("arms: []\n", "arms must be a non-empty list"),
        ("colour: red\narms:\n" + GOOD_ARM, "unknown key(s) colour"),
        ("arms:\n  - {name: a, config: a.yaml}\n", "needs score"),
        ("arms:\n  - {name: a, config: ../../etc/passwd, score: x}\n", "is not a file of this experiment's folder"),
        ("arms:\n  - {name: a, config: a.yaml, baseline_of: a, score: x}\n", "exactly one of"),
        ("arms:\n" + GOOD_ARM + "  - {name: b, finetune_of: zz}\n", "'zz' is not an arm defined above it"),
        ("arms:\n" + GOOD_ARM + GOOD_ARM, "two arms are called a"),
        ("seeds: [0, x]\narms:\n" + GOOD_ARM, "seeds must be a non-empty list of integers"),
        ("arms:\n" + GOOD_ARM + "compare: [{a: a, b: q}]\n", "must name two arms"),
        ("arms:\n  - {name: 'a b', config: a.yaml, score: x}\n", "letters, digits and _"),
        ("arms:\n" + GOOD_ARM + "  - {name: f, finetune_of: a, finetune: {epochz: 3}}\n", "finetune takes"),
        ("arms:\n" + GOOD_ARM + "  - {name: m, score_of: a}\n", "score_of needs score"),
        ("arms:\n" + GOOD_ARM + "  - {name: p, probe_of: a, probe: {labels: 0.1}}\n", "probe takes label_fraction"),
        ("arms:\n" + GOOD_ARM + "  - {name: p, probe_of: a}\n", "probe takes label_fraction"),
        ("arms:\n" + GOOD_ARM + "  - {name: p, probe_of: a, probe: 5}\n", "probe takes label_fraction"),
        ("arms:\n" + GOOD_ARM + "  - {name: p, probe_of: a, probe: {label_fraction: 10}}\n", "is not in (0, 1]"),
    ],
)
def test_a_bad_sweep_is_one_line_naming_the_file(tmp_path, text, problem):
    folder = _write(tmp_path / "exp", text)
    with pytest.raises(ConfigError) as e:
        load_sweep(str(folder))
    assert problem in str(e.value)
    assert str(folder / "sweep.yaml") in str(e.value)
    assert "\n" not in str(e.value)


def test_an_unknown_experiment_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"known: .*fsdd_regimes"):
        load_sweep("no_such_experiment")


def test_an_unknown_figure_is_refused(tmp_path):
    folder = _write(tmp_path / "exp", "figures: [scores, pie]\narms:\n" + GOOD_ARM)
    with pytest.raises(ConfigError, match="figures: pie not one of"):
        load_sweep(str(folder))


def test_the_augmentation_matrix_puts_singles_on_the_diagonal_and_pairs_on_both_sides():
    import numpy as np

    from experiments.figures import augment_matrix_figure

    sweep = load_sweep("fsdd_augment")
    fig = augment_matrix_figure(sweep, {("fade",): 0.5, ("fade", "time_mask"): 0.75, ("noise",): 0.25})
    z = np.asarray(fig.data[0].z, dtype=float)
    names = list(fig.data[0].x)
    f, m, n = names.index("fade"), names.index("time mask"), names.index("noise")
    assert z[f, f] == 50 and z[f, m] == z[m, f] == 75 and z[n, n] == 25
    assert np.isnan(z).sum() == z.size - 4
