"""Ablation: which settings make VAE augmentation pay off under honest evaluation?

Each *arm* is one way of training the CNN (with or without VAE images); every
arm runs on the same balanced MNIST training subsets (one per seed, as in
``skvae reproduce``). Arms are scored by macro F1 on a *development* set:
class-balanced images of MNIST's official training set outside the run's
training subset. The official test set is never used here, so choosing
defaults by this table does not tune them on the images ``skvae reproduce``
reports. The CNN's early stopping uses real validation rows drawn from the
training subset only.

Run (1.5 to 25 min of one core per arm, size and seed: `fit_seconds` in the results)::

    python benchmarks/ablation.py --sizes 50 100 --seeds 0 1 2 --n-jobs 2

Each finished run is appended at once to ``<out>/ablation_runs.jsonl`` (a rerun
skips finished runs: a run is keyed by its arm's full settings); the summary
goes to ``<out>/ablation.md``: per size and arm the mean +- std of macro F1 and
the mean paired difference to the arm's reference, with the number of seeds it
won. (``ablation_v1*`` hold the first round, scored on the test set and with
VAEs whose encoders were dead: see docs/ablation.md.)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

from skvae.experiment.data import DEVELOPMENT_PER_CLASS, DEVELOPMENT_SEED
from skvae.latent import PriorSampler

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
DEFAULT_DATA_HOME = BENCH_DIR.parents[1] / "shared" / "data" / "mnist"
#: Seed of the development subset (fixed; disjoint from each run's training rows).
DEV_SEED = DEVELOPMENT_SEED

#: The CNN and VAE settings every arm starts from, as recorded: skvae.experiment's
#: CNN_DEFAULTS and VAE_DEFAULTS before the round-11 recipe became the default
#: (2026-12-06). Pinned, so that each arm keeps its meaning and the keys of its
#: recorded runs whatever the experiment's defaults become.
BASE_CNN = dict(max_epochs=100, patience=10, min_steps=1000, validation_fraction=0.2)
BASE_VAE = dict(augment_size=1.0, max_epochs=200, min_steps=0, patience=20)

#: How generated rows reach the CNN in the nested arms.
NEST = dict(synthetic_weight=0.5, synthetic_refresh=True)
ACC = dict(monitor="valid_acc")
TRAIN_SPLIT = dict(oversample_validation=False)
#: skvae 0.1.0's rule: any epoch, even one before min_steps, may be restored.
ANY_EPOCH = {"callbacks__early_stopping__select_after_min_steps": False}


def _aug_vae(vae: dict | None = None, ref: str = "AUG", **cnn) -> dict:
    """An AUG+VAE arm (generated rows as ``NEST``), compared with ``ref``."""
    arm = dict(form="nested", aug=True, ref=ref, cnn=dict(NEST, **cnn))
    return dict(arm, vae=vae) if vae else arm


def _aug_reseeded(offset: int, bf16: bool = False) -> dict:
    """AUG (fp32 or bf16) with the CNN seeded ``offset`` above the subset's seed."""
    arm = dict(form="none", aug=True, ref="AUG", cnn_seed_offset=offset)
    return dict(arm, ref="AUG bf16", cnn=dict(precision="bf16")) if bf16 else arm


def _aug_vae_2k(vae: dict | None = None, **cnn) -> dict:
    """An AUG+VAE arm at 2,000 least updates, compared with ``AUG 2k steps``."""
    return _aug_vae(vae, ref="AUG 2k steps", min_steps=2000, **cnn)


#: Update budget of the round-11 recipe: RECIPE_BASE + RECIPE_PER_IMAGE * n.
RECIPE_BASE, RECIPE_PER_IMAGE = 2000, 20


def _recipe(
    aug: bool,
    ref: str,
    scale: float = 1.0,
    validation: bool = False,
    precision: str = "bf16",
    extra: int = 0,
) -> dict:
    """A CNN / AUG arm of the round-11 recipe (fixed budget, cosine schedule).

    The budget counts the labelled images, so the arm with a validation split makes
    as many updates as the arm without one.
    """
    cnn = dict(min_steps=0, precision=precision, validation_fraction=0.2 if validation else 0.0)
    if validation:
        cnn.update(monitor="valid_acc", patience=10**6)
    budget = [round(scale * RECIPE_BASE) + extra, round(scale * RECIPE_PER_IMAGE, 3)]
    # "schedule": the cosine steps every update (CNNClassifier(updates=...)); three runs
    # recorded without this key stepped it every epoch, built by hand.
    return dict(form="none", aug=aug, ref=ref, cnn=cnn, budget=budget, schedule="per-update")


POSTERIOR_U = dict(generation="posterior", max_epochs=30)


def _recipe_vae(aug: bool, ref: str, vae: dict | None = None, **cnn) -> dict:
    """A VAE / AUG+VAE arm on the round-11 recipe: generated rows as ``NEST``.

    ``cnn`` overrides ``NEST`` (e.g. ``synthetic_weight``). The budget counts the
    labelled (real) images only, so the arm makes as many updates as its reference,
    generated rows taking batch slots from real ones.
    """
    arm = _recipe(aug=aug, ref=ref)
    arm.update(form="nested", cnn=dict(arm["cnn"], **{**NEST, **cnn}))
    return dict(arm, vae=vae) if vae else arm


#: name -> dict(form=none|pipeline|nested, aug=bool, ref=arm compared with,
#: cnn={...}, vae={...}); cnn/vae override skvae.experiment's defaults.
ARMS: dict[str, dict] = {
    "CNN": dict(form="none"),
    "CNN any-epoch": dict(form="none", ref="CNN", cnn=ANY_EPOCH),
    "CNN acc": dict(form="none", ref="CNN", cnn=ACC),
    "AUG": dict(form="none", aug=True),
    "AUG acc": dict(form="none", aug=True, ref="AUG", cnn=ACC),
    "VAE": dict(form="nested", ref="CNN", cnn=NEST),
    "VAE acc": dict(form="nested", ref="CNN acc", cnn=dict(NEST, **ACC)),
    "AUG+VAE": _aug_vae(),
    "AUG+VAE acc": dict(form="nested", aug=True, ref="AUG acc", cnn=dict(NEST, **ACC)),
    # The class-VAEs see only the CNN's training split: no generated image
    # derives from a validation image.
    "VAE train-split": dict(form="nested", ref="CNN", cnn=dict(NEST, **TRAIN_SPLIT)),
    "AUG+VAE train-split": _aug_vae(**TRAIN_SPLIT),
    "VAE pipeline": dict(form="pipeline", ref="CNN"),
    "VAE fixed w1": dict(form="nested", ref="CNN", cnn=dict(synthetic_weight=1.0)),
    "VAE x4 w.25": dict(
        form="nested", ref="CNN", cnn=dict(NEST, synthetic_weight=0.25), vae=dict(augment_size=4.0)
    ),
    "VAE gmm": dict(form="nested", ref="CNN", cnn=NEST, vae=dict(latent_sampler="gmm")),
    "VAE filter.5": dict(form="nested", ref="CNN", cnn=NEST, vae=dict(filter_threshold=0.5)),
    # Generated rows double the rows per epoch, so at the same min_steps the
    # CNN of a VAE arm sees each real image about half as often as the CNN
    # alone: do the VAE arms lose for lack of real-image updates?
    "CNN 2k steps": dict(form="none", ref="CNN", cnn=dict(min_steps=2000)),
    "VAE 2k steps": dict(form="nested", ref="CNN 2k steps", cnn=dict(NEST, min_steps=2000)),
    # The same idea as a CNNClassifier option: min_steps scaled by the share
    # of generated rows (x2 to x2.25 here, depending on the size).
    "VAE scaled": dict(form="nested", ref="CNN", cnn=dict(NEST, scale_min_steps=True)),
    "AUG+VAE scaled": _aug_vae(scale_min_steps=True),
    "AUG 2k steps": dict(form="none", aug=True, ref="AUG", cnn=dict(min_steps=2000)),
    "AUG+VAE 2k steps": _aug_vae_2k(),
    # Round 4: with augmentation the generated images hurt at 250 even with the
    # 2k budget. Do they hurt less at a fifth of a real row's weight, or drawn
    # near the class's own codes (mixture sampler) instead of the prior?
    "AUG+VAE 2k w.2": _aug_vae_2k(synthetic_weight=0.2),
    "AUG+VAE 2k gmm": _aug_vae_2k(vae=dict(latent_sampler="gmm")),
    # A curriculum: generated images for the first 1,000 updates, real images
    # (augmented) alone for the rest, so the restored weights end on real data.
    "AUG+VAE 2k curric": _aug_vae_2k(synthetic_steps=1000),
    # Equal passes over the real images: generated rows add updates (x2.25 at
    # 250 images) instead of taking them; and AUG with as many updates.
    "AUG+VAE 2k scaled": _aug_vae_2k(scale_min_steps=True),
    "AUG 4k steps": dict(form="none", aug=True, ref="AUG 2k steps", cnn=dict(min_steps=4000)),
    # bf16 autocast in the CNN (forward passes; weights and loss stay fp32).
    "CNN bf16": dict(form="none", ref="CNN", cnn=dict(precision="bf16")),
    "AUG bf16": dict(form="none", aug=True, ref="AUG", cnn=dict(precision="bf16")),
    # How far does fp32 itself move on the same subset with another CNN seed
    # (seed + 1000: initialisation, validation split, batch order, augmentation
    # draws)? That is the noise bf16 must stay within.
    "AUG init2": _aug_reseeded(1000),
    "AUG bf16 init2": _aug_reseeded(1000, bf16=True),
    # Two more CNN seeds per subset: 6 fp32/bf16 pairs could not tell a heavier
    # lower tail of bf16 from chance.
    "AUG init3": _aug_reseeded(2000),
    "AUG bf16 init3": _aug_reseeded(2000, bf16=True),
    "AUG init4": _aug_reseeded(3000),
    "AUG bf16 init4": _aug_reseeded(3000, bf16=True),
    "VAE vae1000": dict(
        form="nested", ref="CNN", cnn=NEST, vae=dict(min_steps=1000, max_epochs=1000)
    ),
    # Round 5: the generated digits are blurred class averages (Frechet
    # distance ~2,300 vs 181 for SMOTE). Decoded at temperature 0.5, the same
    # draws have crisp strokes: do they then add what augmentation lacks?
    "VAE T.5": dict(form="nested", ref="CNN", cnn=NEST, vae=dict(decode_temperature=0.5)),
    "AUG+VAE T.5": _aug_vae(vae=dict(decode_temperature=0.5)),
    # Or keep the real digit's strokes and let the VAE supply only a change:
    # x + g(z) - g(mu(x)), z from x's posterior (generation="residual").
    "VAE res": dict(form="nested", ref="CNN", cnn=NEST, vae=dict(generation="residual")),
    "AUG+VAE res": _aug_vae(vae=dict(generation="residual")),
    "AUG+VAE 2k res": _aug_vae_2k(vae=dict(generation="residual")),
    # Round 6: the levers of round 1 that ran only with dead VAE encoders, again
    # with working VAEs, on AUG+VAE at the experiment's budget (ref AUG).
    "AUG+VAE vae1000": _aug_vae(vae=dict(min_steps=1000, max_epochs=1000)),
    "AUG+VAE beta.5": _aug_vae(vae=dict(beta=0.5)),
    "AUG+VAE trunc.7": _aug_vae(vae=dict(latent_sampler=PriorSampler(scale=0.7))),
    "AUG+VAE uniform": _aug_vae(vae=dict(latent_sampler="uniform")),
    "AUG+VAE gmm": _aug_vae(vae=dict(latent_sampler="gmm")),
    "AUG+VAE fixed": _aug_vae(synthetic_refresh=False),
    "AUG+VAE pooled": _aug_vae(vae=dict(pretrain="pooled")),
    "AUG+VAE filter.5": _aug_vae(vae=dict(filter_threshold=0.5)),
    # Round 7: the two levers of the issue still unmeasured with working VAEs:
    # four generated images per real one at a quarter of a real row's weight,
    # and the class-VAEs' learning rate (RMSprop, default 1e-3) at the same budget.
    "AUG+VAE x4 w.25": _aug_vae(vae=dict(augment_size=4.0), synthetic_weight=0.25),
    "AUG+VAE lr3e-4": _aug_vae(vae=dict(lr=3e-4)),
    "AUG+VAE lr3e-3": _aug_vae(vae=dict(lr=3e-3)),
    # The real-data filter was round 6's least bad lever at 100 and 250 images: does
    # a stricter threshold help more?
    "AUG+VAE filter.8": _aug_vae(vae=dict(filter_threshold=0.8)),
    # Round 8: one conditional VAE on all classes instead of one VAE per class, so
    # the decoder learns strokes from every class (not in the paper). At least 300
    # steps: with patience 20 alone it stops under-trained (at 100 images, 16% of its
    # digits read as another class; benchmarks/results/generation_quality_conditional).
    "VAE cond300": dict(
        form="nested", ref="CNN", cnn=NEST, vae=dict(conditional=True, min_steps=300)
    ),
    "AUG+VAE cond300": _aug_vae(vae=dict(conditional=True, min_steps=300)),
    # ... with the real images' updates given back (round 4's scale_min_steps).
    "AUG+VAE cond300 scaled": _aug_vae(
        vae=dict(conditional=True, min_steps=300), scale_min_steps=True
    ),
    # The weight and the curriculum of round 4 at the experiment's budget.
    "AUG+VAE w.2": _aug_vae(synthetic_weight=0.2),
    "AUG+VAE curric": _aug_vae(synthetic_steps=500),
    # bf16 autocast in both networks (class-VAEs and CNN): does the full
    # reduced-precision path stay within the fp32 arm's noise?
    "VAE bf16": dict(
        form="nested", ref="VAE", cnn=dict(NEST, precision="bf16"), vae=dict(precision="bf16")
    ),
    "AUG+VAE bf16": _aug_vae(vae=dict(precision="bf16"), ref="AUG+VAE", precision="bf16"),
    # Round 11 (issue #31): a fixed update budget that grows with the training set,
    # a cosine learning-rate schedule over it, and every labelled image in training
    # (no validation split, so no early stopping): CNNClassifier(updates=base +
    # per_image * n) for n labelled images ("rec" is updates="auto"). "rec/2" and
    # "rec x2" bracket it to show whether the budget, not the data, still decides.
    "CNN rec": _recipe(aug=False, ref="CNN bf16"),
    "AUG rec": _recipe(aug=True, ref="AUG bf16"),
    "CNN rec/2": _recipe(aug=False, scale=0.5, ref="CNN rec"),
    "AUG rec/2": _recipe(aug=True, scale=0.5, ref="AUG rec"),
    "AUG rec x2": _recipe(aug=True, scale=2.0, ref="AUG rec"),
    "CNN rec x2": _recipe(aug=False, scale=2.0, ref="CNN rec"),
    # Round 12: AUG gained from twice the budget at 50 images (3 of 3) but a doubled
    # budget costs 44,000 updates a fit at 1,000. A fixed 3,000 more updates equals
    # "x2" at 50 images and adds less and less beyond: is augmented training short by
    # a constant rather than by a factor?
    "AUG rec+3k": _recipe(aug=True, extra=3000, ref="AUG rec"),
    # The same budget and schedule with 20 % of each class held out and the best
    # epoch (by validation accuracy) restored: does the split pay for itself?
    "AUG rec val": _recipe(aug=True, ref="AUG rec", validation=True),
    "AUG rec fp32": _recipe(aug=True, ref="AUG rec", precision="fp32"),
    # The VAE conditions on the recipe (issue #31, point 4, on the development set):
    # the study's class-VAEs and mixing, and the conditional VAE of round 8.
    "VAE rec": _recipe_vae(aug=False, ref="CNN rec"),
    "AUG+VAE rec": _recipe_vae(aug=True, ref="AUG rec"),
    "AUG+VAE cond300 rec": _recipe_vae(
        aug=True, ref="AUG rec", vae=dict(conditional=True, min_steps=300)
    ),
    # Issue #28's levers on the recipe: draws around real codes (the posterior of a
    # real image, not the prior), and class-VAEs trained on augmented images.
    "AUG+VAE post rec": _recipe_vae(aug=True, ref="AUG rec", vae=dict(generation="posterior")),
    "AUG+VAE vae-aug rec": _recipe_vae(aug=True, ref="AUG rec", vae=dict(augment="affine")),
    # Issue #28: a decaying mix. The generated rows' loss weight falls linearly from 1
    # to 0 over training (mean 0.5, as the constant 0.5 of "AUG+VAE rec"): they count
    # while the CNN learns coarse shapes, and not while it fits fine detail.
    "AUG+VAE decay rec": _recipe_vae(aug=True, ref="AUG+VAE rec", synthetic_weight=[1.0, 0.0]),
    # Issue #28: the VAE also learns from 1,000 unlabelled images per class (outside the
    # training, development and test rows); the CNN still sees labelled and generated
    # rows only. One VAE of every image, drawn around each class's codes (posterior),
    # trained for at most 30 epochs: an epoch of 8,500 images takes about a minute on
    # one thread of this CPU, so the default 200 would take hours.
    "VAE+U rec": dict(_recipe_vae(aug=False, ref="VAE rec", vae=POSTERIOR_U), unlabeled=1000),
    "AUG+VAE+U rec": dict(
        _recipe_vae(aug=True, ref="AUG+VAE post rec", vae=POSTERIOR_U), unlabeled=1000
    ),
    "AUG+VAE cond300 post rec": _recipe_vae(
        aug=True,
        ref="AUG rec",
        vae=dict(conditional=True, min_steps=300, generation="posterior"),
    ),
}


def settings(name: str) -> dict:
    """The arm's full settings: :data:`BASE_CNN` and :data:`BASE_VAE` with its overrides."""
    arm = ARMS[name]
    spec = dict(
        form=arm["form"],
        aug=bool(arm.get("aug")),
        cnn={**BASE_CNN, **arm.get("cnn", {})},
        vae={**BASE_VAE, **arm.get("vae", {})} if arm["form"] != "none" else None,
    )
    if arm.get("cnn_seed_offset"):  # only then: the other arms' recorded keys stay valid
        spec["cnn_seed_offset"] = arm["cnn_seed_offset"]
    if arm.get("budget"):
        spec["budget"], spec["schedule"] = arm["budget"], arm["schedule"]
    if arm.get("unlabeled"):  # only then, as cnn_seed_offset
        spec["unlabeled"] = arm["unlabeled"]
    return spec


def budget_updates(spec: dict, size: int) -> int | None:
    """Updates of a budget arm at ``size`` labelled images (None without a budget)."""
    if "budget" not in spec:
        return None
    base, per_image = spec["budget"]
    return round(base + per_image * size)


def sampler_params(vae: dict) -> dict:
    """:class:`~skvae.VAEOversampler` keyword arguments of an arm's recorded ``vae`` settings.

    The arms keep the option names they ran with (their settings key the
    recorded runs), some of which the sampler has since renamed or dropped:

    - ``conditional=True`` is ``vae="conditional"``;
    - ``latent_sampler`` and ``decode_temperature`` are parameters of the
      ``generation`` strategy (``Decode(latent_sampler=..., temperature=...)``);
    - ``filter_threshold``, ``filter_estimator`` and ``max_filter_rounds`` are
      ``filter=ClassifierFilter(threshold=..., estimator=..., max_rounds=...)``;
    - ``batched`` is dropped: it trained the same class-VAEs (to float rounding);
    - ``pretrain="pooled"`` was removed (round 6: the worst lever); its arm is
      kept as a record only and raises here;
    - ``augment="affine"``: the VAEs train on batches augmented as the AUG
      condition's (``training={"augment": RandomAffine(**AUGMENT_DEFAULTS)}``);
    - the training settings (``max_epochs``, ``min_steps``, ``beta``, ...) are
      one ``training`` dict (:func:`skvae.experiment.config.oversampler_params`).
    """
    from skvae import RandomAffine
    from skvae.experiment.config import AUGMENT_DEFAULTS, oversampler_params
    from skvae.generation import ClassifierFilter, make_generation

    params = dict(vae)
    if params.pop("pretrain", None) is not None:
        raise ValueError(
            "pretrain='pooled' was removed from VAEOversampler (docs/ablation.md, round 6); "
            "its arm is kept only as a record of the runs it made."
        )
    params.pop("batched", None)
    if params.pop("conditional", False):
        params["vae"] = "conditional"
    if "augment" in params:
        kind = params.pop("augment")
        if kind != "affine":
            raise ValueError(f"augment must be 'affine', got {kind!r}.")
        params["augment"] = RandomAffine(**AUGMENT_DEFAULTS)
    moved = {
        new: params.pop(old)
        for old, new in (
            ("latent_sampler", "latent_sampler"),
            ("decode_temperature", "temperature"),
        )
        if old in params
    }
    if moved:
        params["generation"] = make_generation(params.get("generation", "decode")).set_params(
            **moved
        )
    threshold = params.pop("filter_threshold", None)
    estimator = params.pop("filter_estimator", None)
    rounds = params.pop("max_filter_rounds", 20)
    if threshold is not None:
        params["filter"] = ClassifierFilter(estimator, threshold=threshold, max_rounds=rounds)
    return oversampler_params(params)


def classifier_params(cnn: dict) -> tuple[dict, dict]:
    """:class:`~skvae.CNNClassifier` keyword arguments of an arm's recorded ``cnn`` settings.

    Returns them and the arm's ``SyntheticRows`` settings. As in
    :func:`sampler_params`, the arms keep the names they ran with:

    - ``monitor`` is the early-stopping callback's
      (``callbacks__early_stopping__monitor``);
    - ``synthetic_weight`` and ``synthetic_refresh`` are ``SyntheticRows``'
      ``weight`` and ``refresh``; a weight ``[start, end]`` is ``LinearDecay(start, end)``;
    - ``oversample_validation=False``, ``scale_min_steps=True`` and
      ``synthetic_steps`` were removed (rounds 2, 4 and 9: none beat the
      default); their arms are kept as records only and raise here;
    - the arms ran when ``CNNClassifier`` trained by epochs by default, so
      ``updates=None`` unless the arm has a budget (:func:`build` sets it);
    - ``patience`` and ``min_steps`` are the early-stopping callback's
      (``callbacks__early_stopping__...``), dropped where the arm holds no
      validation rows out (they had nothing to act on).
    """
    params = dict(cnn, updates=None)
    early = {name: params.pop(name) for name in ("patience", "min_steps") if name in params}
    if params.get("validation_fraction", 0.0) > 0:
        params.update({f"callbacks__early_stopping__{k}": v for k, v in early.items()})
    for name, default in (
        ("oversample_validation", True),
        ("scale_min_steps", False),
        ("synthetic_steps", None),
    ):
        if params.pop(name, default) != default:
            raise ValueError(
                f"{name} was removed from CNNClassifier (docs/ablation.md); this arm is "
                "kept only as a record of the runs it made."
            )
    if "monitor" in params:
        params["callbacks__early_stopping__monitor"] = params.pop("monitor")
    mixing = {
        new: params.pop(old)
        for old, new in (("synthetic_weight", "weight"), ("synthetic_refresh", "refresh"))
        if old in params
    }
    if isinstance(mixing.get("weight"), list):  # [start, end]: a decaying mix
        from skvae.synthetic import LinearDecay

        mixing["weight"] = LinearDecay(*mixing["weight"])
    return params, mixing


def build(spec: dict, seed: int, latent: int, size: int | None = None, X_unlabeled=None):
    """The arm's estimator (a CNNClassifier or an imblearn Pipeline).

    An arm with ``unlabeled`` rows per class needs them as ``X_unlabeled``: its
    sampler is a ``SemiSupervisedVAEOversampler`` that also learns from them.
    """
    from imblearn.pipeline import Pipeline

    from skvae import CNNClassifier, RandomAffine, SemiSupervisedVAEOversampler, VAEOversampler
    from skvae.experiment.conditions import WithUnlabeledRows
    from skvae.experiment.config import AUGMENT_DEFAULTS
    from skvae.synthetic import SyntheticRows

    cnn_kw, mixing = classifier_params(spec["cnn"])
    cnn_kw["random_state"] = seed + spec.get("cnn_seed_offset", 0)
    if spec["aug"]:
        cnn_kw["augment"] = RandomAffine(**AUGMENT_DEFAULTS)
    updates = budget_updates(spec, size) if size is not None else None
    if updates is not None:
        # With CNNClassifier's cosine schedule over them. The arms' max_epochs=100 was
        # ignored beside a budget when they ran; it caps one since.
        cnn_kw.update(updates=updates, max_epochs=None)
    if spec["form"] == "none":
        return CNNClassifier(**cnn_kw)
    vae_kw = dict(random_state=seed, **sampler_params(spec["vae"]))
    if spec.get("unlabeled"):
        if X_unlabeled is None:
            raise ValueError("this arm's VAE learns from unlabelled rows: give X_unlabeled.")
        sampler = WithUnlabeledRows(SemiSupervisedVAEOversampler(latent, **vae_kw), X_unlabeled)
    else:
        sampler = VAEOversampler(latent, **vae_kw)
    if spec["form"] == "pipeline":
        return Pipeline([("vae", sampler), ("cnn", CNNClassifier(**cnn_kw))])
    return CNNClassifier(oversampler=SyntheticRows(sampler, **mixing), **cnn_kw)


def run_one(name: str, size: int, seed: int, latent: int, data_home: str, dev_per_class: int):
    """Fit one arm on one training subset; return its JSON row."""
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    from skvae.experiment.data import held_out_rows, load_dataset, make_cv, unlabeled_rows

    torch.set_num_threads(1)
    data = load_dataset("mnist", data_home)
    # The test subset make_cv draws is not used: only its training subset.
    cv = make_cv(size, seed, test_size_per_class=1, test_mask=data.test_mask)
    train, _ = next(cv.split(data.data, data.target))
    dev = held_out_rows(data.target, data.test_mask, train, dev_per_class, DEV_SEED)
    spec = settings(name)
    X_unlabeled = None
    if spec.get("unlabeled"):
        # unlabeled_rows avoids the development rows of DEVELOPMENT_PER_CLASS per class.
        if dev_per_class != DEVELOPMENT_PER_CLASS:
            raise ValueError(f"arm {name!r} needs --dev-per-class {DEVELOPMENT_PER_CLASS}.")
        rows = unlabeled_rows(data.target, data.test_mask, train, spec["unlabeled"])
        X_unlabeled = data.data[rows]
    model = build(spec, seed, latent, size, X_unlabeled)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(data.data[train], data.target[train])
    fit_s = time.perf_counter() - start
    pred = model.predict(data.data[dev])
    cnn = model.named_steps["cnn"] if hasattr(model, "named_steps") else model
    return dict(
        arm=name,
        size=size,
        seed=seed,
        latent=latent,
        f1=100 * f1_score(data.target[dev], pred, average="macro"),
        accuracy=100 * accuracy_score(data.target[dev], pred),
        epochs=int(cnn.n_epochs_),
        best_epoch=int(cnn.best_epoch_),
        fit_seconds=round(fit_s, 1),
        dev_per_class=dev_per_class,
        spec=spec_key(name),
    )


def spec_key(name: str) -> str:
    return json.dumps(settings(name), sort_keys=True, default=repr)


def reference(name: str) -> str | None:
    """The arm ``name`` is compared with (None for the baselines)."""
    return ARMS[name].get("ref")


def summarise(rows: list[dict]) -> str:
    """Markdown table: mean +- std per (size, arm), paired difference to the reference."""
    by = {(r["size"], r["arm"], r["seed"]): r["f1"] for r in rows}
    lines = [
        "| size | arm | seeds | macro F1 (mean +- std) | diff. to reference | wins | "
        "epochs | fit s |",
        "|---:|---|---:|---|---|---:|---:|---:|",
    ]
    for size in sorted({r["size"] for r in rows}):
        for name in ARMS:
            mine = [r for r in rows if r["size"] == size and r["arm"] == name]
            if not mine:
                continue
            f1 = [r["f1"] for r in mine]
            std = statistics.stdev(f1) if len(f1) > 1 else 0.0
            ref = reference(name)
            diff, wins = "", ""
            if ref is not None:
                pairs = [
                    (r["f1"], by[(size, ref, r["seed"])])
                    for r in mine
                    if (size, ref, r["seed"]) in by
                ]
                if pairs:
                    d = [a - b for a, b in pairs]
                    diff = f"{statistics.mean(d):+.1f} vs {ref}"
                    wins = f"{sum(x > 0 for x in d)}/{len(d)}"
            lines.append(
                f"| {size} | {name} | {len(f1)} | {statistics.mean(f1):.1f} +- {std:.1f} | "
                f"{diff} | {wins} | {statistics.mean(r['epochs'] for r in mine):.0f} | "
                f"{statistics.mean(r['fit_seconds'] for r in mine):.0f} |"
            )
    return "\n".join(lines) + "\n"


def paired(rows: list[dict], pairs: list[tuple[str, str]]) -> list[dict]:
    """Paired F1 differences ``arm - ref`` of recorded runs, per size and pooled.

    A pair is a run of ``arm`` and one of ``ref`` on the same size and seed (so
    the same subset, and the same CNN seed when the two arms share it). Each
    result row holds the size (``"all"`` for every size pooled), the number of
    pairs, the mean and median difference, how many are above zero, the
    two-sided Wilcoxon signed-rank p-value (NaN when every difference is zero)
    and the smallest and largest difference.
    """
    from scipy.stats import wilcoxon

    f1 = {(r["arm"], r["size"], r["seed"]): r["f1"] for r in rows}
    diffs: dict = {}
    for arm, ref in pairs:
        for (name, size, seed), value in f1.items():
            if name == arm and (ref, size, seed) in f1:
                diffs.setdefault(size, []).append(value - f1[(ref, size, seed)])
    groups = [(size, diffs[size]) for size in sorted(diffs)]
    if len(groups) > 1:
        groups.append(("all", [d for _, ds in groups for d in ds]))
    out = []
    for size, ds in groups:
        p = wilcoxon(ds).pvalue if any(ds) else math.nan
        out.append(
            dict(
                size=size,
                pairs=len(ds),
                mean=statistics.mean(ds),
                median=statistics.median(ds),
                higher=sum(d > 0 for d in ds),
                p=float(p),
                min=min(ds),
                max=max(ds),
            )
        )
    return out


def _pair_arg(text: str) -> tuple[str, str]:
    """``"ARM=REF"`` -> ``(ARM, REF)``, both names of ``ARMS``."""
    arm, sep, ref = text.partition("=")
    if not sep or arm not in ARMS or ref not in ARMS:
        raise argparse.ArgumentTypeError(f"expected ARM=REF with two arm names, got {text!r}")
    return arm, ref


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 250])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--latent", type=int, default=3)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--dev-per-class", type=int, default=DEVELOPMENT_PER_CLASS)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--data-home", default=str(DEFAULT_DATA_HOME))
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument(
        "--paired",
        nargs="+",
        type=_pair_arg,
        metavar="ARM=REF",
        help="run nothing: print the paired F1 differences ARM - REF of the runs "
        "recorded in --out, per size and pooled, with Wilcoxon p-values",
    )
    args = parser.parse_args(argv)
    runs_path = args.out / "ablation_runs.jsonl"
    rows = []
    if runs_path.exists():
        rows = [json.loads(line) for line in runs_path.read_text().splitlines() if line]
    if args.paired:
        if not rows:
            parser.error(f"--paired: no recorded runs in {runs_path}")
        print("| size | pairs | mean (median) | higher | Wilcoxon p | range |")
        print("|---:|---:|---|---:|---:|---|")
        for r in paired(rows, args.paired):
            print(
                f"| {r['size']} | {r['pairs']} | {r['mean']:+.2f} ({r['median']:+.2f}) | "
                f"{r['higher']} | {r['p']:.2f} | {r['min']:+.1f} to {r['max']:+.1f} |"
            )
        return

    from joblib import Parallel, delayed

    args.out.mkdir(parents=True, exist_ok=True)
    done = {(r["arm"], r["size"], r["seed"], r["latent"], r["spec"]) for r in rows}
    todo = [
        (name, size, seed)
        for size in args.sizes
        for seed in args.seeds
        for name in args.arms
        if (name, size, seed, args.latent, spec_key(name)) not in done
    ]
    print(f"{len(todo)} runs to do, {len(rows)} done", flush=True)
    jobs = (
        delayed(run_one)(n, s, seed, args.latent, args.data_home, args.dev_per_class)
        for n, s, seed in todo
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for row in Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(jobs):
        rows.append(row)
        with runs_path.open("a") as fh:  # one line per finished run: nothing lost on ^C
            fh.write(json.dumps(row) + "\n")
        print(
            f"{row['size']:>5} seed {row['seed']} {row['arm']:<32} F1 {row['f1']:5.1f} "
            f"({row['epochs']} epochs, {row['fit_seconds']:.0f}s)",
            flush=True,
        )
    table = summarise(rows)
    (args.out / "ablation.md").write_text(
        "# Ablation (benchmarks/ablation.py)\n\n"
        f"MNIST, latent {args.latent}, development subset of {args.dev_per_class} images "
        "per class from the official *training* set (never the test set), macro F1 in %.\n\n"
        + table
    )
    print(table)


if __name__ == "__main__":
    main()
