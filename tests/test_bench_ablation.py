"""benchmarks/ablation.py: every arm builds a valid estimator, keyed stably."""

import json
import math

import numpy as np
import pytest
from conftest import BENCH_DIR, load_benchmark

from skvae import CNNClassifier, RandomAffine, SemiSupervisedVAEOversampler, VAEOversampler
from skvae.experiment.config import AUGMENT_DEFAULTS
from skvae.generation import ClassifierFilter, Decode, Residual
from skvae.latent import PriorSampler
from skvae.synthetic import LinearDecay

ablation = load_benchmark("ablation.py")


@pytest.mark.parametrize("name", list(ablation.ARMS))
def test_every_arm_builds_a_valid_estimator(name):
    spec = ablation.settings(name)
    if (spec["vae"] or {}).get("pretrain"):  # a removed option: the arm is a record only
        with pytest.raises(ValueError, match="pretrain='pooled' was removed"):
            ablation.build(spec, seed=0, latent=3)
        return
    removed = {"oversample_validation": True, "scale_min_steps": False, "synthetic_steps": None}
    if any(spec["cnn"].get(key, default) != default for key, default in removed.items()):
        with pytest.raises(ValueError, match="was removed from CNNClassifier"):
            ablation.build(spec, seed=0, latent=3)
        return
    if spec.get("unlabeled"):
        with pytest.raises(ValueError, match="give X_unlabeled"):
            ablation.build(spec, seed=0, latent=3)
    X_unlabeled = np.zeros((20, 784), dtype=np.float32) if spec.get("unlabeled") else None
    model = ablation.build(spec, seed=0, latent=3, X_unlabeled=X_unlabeled)
    cnn = model.named_steps["cnn"] if hasattr(model, "named_steps") else model
    assert isinstance(cnn, CNNClassifier)
    cnn.check_settings((1, 28, 28), 10)  # values, names and the nested oversampler's
    if hasattr(model, "named_steps") and "vae" in model.named_steps:
        sampler = model.named_steps["vae"]
    else:
        sampler = getattr(cnn.oversampler, "sampler", None)
    assert (sampler is None) == (spec["form"] == "none")
    if sampler is not None:
        sampler.check_settings()
    assert (cnn.augment is not None) == spec["aug"]
    if isinstance(spec["cnn"].get("synthetic_weight"), list):
        assert isinstance(cnn.oversampler.weight, LinearDecay)
        assert (cnn.oversampler.weight.start, cnn.oversampler.weight.end) == (1.0, 0.0)
    if spec.get("unlabeled"):
        assert isinstance(sampler.sampler, SemiSupervisedVAEOversampler)
        assert sampler.X_unlabeled is X_unlabeled
    ref = ablation.reference(name)
    assert ref is None or ref in ablation.ARMS


def test_round6_arms_change_one_setting_of_aug_vae():
    base = json.loads(ablation.spec_key("AUG+VAE"))
    for name, vae_key, value in [
        ("AUG+VAE vae1000", "min_steps", 1000),
        ("AUG+VAE beta.5", "beta", 0.5),
        ("AUG+VAE uniform", "latent_sampler", "uniform"),
        ("AUG+VAE gmm", "latent_sampler", "gmm"),
        ("AUG+VAE filter.5", "filter_threshold", 0.5),
        ("AUG+VAE pooled", "pretrain", "pooled"),
    ]:
        spec = json.loads(ablation.spec_key(name))
        assert spec["vae"][vae_key] == value
        assert spec["cnn"] == base["cnn"] and spec["aug"] and ablation.reference(name) == "AUG"
    sampler = ablation.build(ablation.settings("AUG+VAE trunc.7"), 0, 3).oversampler.sampler
    assert isinstance(sampler.generation, Decode)
    assert isinstance(sampler.generation.latent_sampler, PriorSampler)
    assert sampler.generation.latent_sampler.scale == 0.7
    fixed = json.loads(ablation.spec_key("AUG+VAE fixed"))
    assert fixed["cnn"]["synthetic_refresh"] is False and fixed["vae"] == base["vae"]
    mixing = ablation.build(ablation.settings("AUG+VAE"), 0, 3).oversampler
    assert isinstance(mixing.sampler, VAEOversampler)
    assert (mixing.weight, mixing.refresh) == (0.5, True)  # the recorded NEST settings
    cnn = ablation.build(ablation.settings("CNN acc"), 0, 3)
    assert cnn.get_params()["callbacks__early_stopping__monitor"] == "valid_acc"


def test_recorded_vae_options_translate_to_the_current_sampler():
    translate = ablation.sampler_params
    assert translate(dict(conditional=True, min_steps=300)) == dict(
        vae="conditional", training=dict(min_steps=300)
    )
    assert translate(dict(conditional=False, batched=True, beta=0.5)) == dict(
        training=dict(beta=0.5)
    )
    decode = translate(dict(latent_sampler="gmm", decode_temperature=0.5))["generation"]
    assert isinstance(decode, Decode)
    assert decode.get_params() == dict(latent_sampler="gmm", temperature=0.5)
    residual = translate(dict(generation="residual", decode_temperature=0.5))["generation"]
    assert isinstance(residual, Residual) and residual.temperature == 0.5
    assert translate(dict(generation="sample")) == dict(generation="sample")
    judge = object()
    params = translate(dict(filter_threshold=0.8, filter_estimator=judge, max_filter_rounds=5))
    assert params.keys() == {"filter"} and isinstance(params["filter"], ClassifierFilter)
    assert params["filter"].get_params(deep=False) == dict(
        estimator=judge, threshold=0.8, max_rounds=5
    )
    assert translate(dict(filter_threshold=None)) == {}
    with pytest.raises(ValueError, match="kept only as a record"):
        translate(dict(pretrain="pooled"))
    # The VAEs trained on batches augmented as the AUG condition's.
    augment = translate(dict(augment="affine", min_steps=10))["training"]
    assert augment["min_steps"] == 10
    assert augment["augment"].get_params() == RandomAffine(**AUGMENT_DEFAULTS).get_params()
    with pytest.raises(ValueError, match="augment must be 'affine', got 'elastic'"):
        translate(dict(augment="elastic"))
    # Every recorded arm's options make a sampler with valid settings.
    for name in ablation.ARMS:
        vae = ablation.settings(name)["vae"]
        if vae is not None and not vae.get("pretrain"):
            VAEOversampler(**translate(vae)).check_settings()


def test_recorded_cnn_options_translate_to_the_current_classifier():
    translate = ablation.classifier_params
    params, mixing = translate(
        dict(monitor="valid_acc", synthetic_weight=0.5, synthetic_refresh=True, min_steps=3)
    )
    # The arms ran when the CNN trained by epochs by default: they still do. Early
    # stopping's settings act only with validation rows held out.
    assert params == {"callbacks__early_stopping__monitor": "valid_acc", "updates": None}
    params, _ = translate(dict(min_steps=3, patience=10, validation_fraction=0.2))
    assert params == {
        "callbacks__early_stopping__min_steps": 3,
        "callbacks__early_stopping__patience": 10,
        "validation_fraction": 0.2,
        "updates": None,
    }
    assert mixing == dict(weight=0.5, refresh=True)
    # The removed options at their old defaults changed nothing, so they translate away.
    assert translate(dict(oversample_validation=True, synthetic_steps=None)) == (
        {"updates": None},
        {},
    )
    for removed in (dict(scale_min_steps=True), dict(synthetic_steps=500)):
        with pytest.raises(ValueError, match="kept only as a record"):
            translate(removed)


def test_spec_keys_of_recorded_runs_still_match():
    """A changed key would make a rerun redo finished runs (and split an arm's seeds)."""
    path = BENCH_DIR / "results" / "ablation_runs.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    assert rows
    stale = {r["arm"] for r in rows if r["spec"] != ablation.spec_key(r["arm"])}
    assert not stale, f"arms whose settings changed since they ran: {sorted(stale)}"


def _run(arm, size, seed, f1):
    return dict(arm=arm, size=size, seed=seed, f1=f1)


def test_paired_differences_per_size_and_pooled():
    rows = [
        *(_run("CNN", 50, s, 70.0) for s in range(6)),
        *(_run("CNN bf16", 50, s, 70.0 + d) for s, d in enumerate([1, 2, 3, 4, 5, -1])),
        _run("AUG", 100, 0, 90.0),
        _run("AUG bf16", 100, 0, 89.0),
        _run("AUG bf16", 100, 1, 95.0),  # no fp32 twin: not a pair
    ]
    by_size = {
        r["size"]: r for r in ablation.paired(rows, [("CNN bf16", "CNN"), ("AUG bf16", "AUG")])
    }
    assert by_size[50]["pairs"] == 6 and by_size[50]["higher"] == 5
    assert by_size[50]["mean"] == pytest.approx(14 / 6) and by_size[50]["median"] == 2.5
    assert (by_size[50]["min"], by_size[50]["max"]) == (-1.0, 5.0)
    assert 0.0 < by_size[50]["p"] < 0.2  # 5 of 6 up, the one down the smallest
    assert by_size[100]["pairs"] == 1 and by_size[100]["mean"] == -1.0
    assert by_size["all"]["pairs"] == 7 and by_size["all"]["higher"] == 5
    (only,) = ablation.paired(rows, [("CNN", "CNN")])  # one size: no pooled row
    assert only["pairs"] == 6 and only["mean"] == 0.0
    assert math.isnan(only["p"])  # every difference zero: no test


def test_paired_cli_reads_the_recorded_runs(tmp_path, capsys):
    rows = [_run("AUG", 50, 0, 80.0), _run("AUG bf16", 50, 0, 82.5)]
    (tmp_path / "ablation_runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ablation.main(["--out", str(tmp_path), "--paired", "AUG bf16=AUG"])
    out = capsys.readouterr().out
    assert "| 50 | 1 | +2.50 (+2.50) | 1 |" in out
    for bad in ("AUG bf16", "AUG bf16=nope"):
        with pytest.raises(SystemExit):
            ablation.main(["--out", str(tmp_path), "--paired", bad])
    with pytest.raises(SystemExit):  # nothing recorded there
        ablation.main(["--out", str(tmp_path / "empty"), "--paired", "AUG bf16=AUG"])
