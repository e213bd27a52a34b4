"""Quality of generated MNIST digits per latent size (skvae.metrics).

For one balanced training subset (as ``skvae reproduce`` draws it), the
class-VAEs of each latent size generate ``--per-class`` digits per class, and
:func:`skvae.metrics.generation_report` scores them against real digits the VAEs
never saw (drawn from MNIST's official *training* set outside the subset; the
test set is not used):

- class consistency: accuracy of a reference CNN trained on 100 held-out real
  digits per class;
- Fréchet distance on that CNN's hidden-layer features (FID-like);
- TSTR: macro F1 on held-out real digits of a logistic regression trained on
  the generated digits only;
- memorisation: share of generated digits nearer a training digit than any
  held-out digit, beside the same share for held-out real digits (the level of
  a generator that does not memorise).

Rows "real (held-out)" and "SMOTE" score real digits and SMOTE's interpolations
the same way, as yardsticks. Run::

    python benchmarks/generation_quality.py --size 100 --latents 2 3 4 8

Writes ``benchmarks/results/generation_quality.{json,md}``.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from skvae import benchmarking as bm
from skvae.experiment.data import held_out_rows

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _cli  # noqa: E402

#: Seed of the held-out real digits (fixed; disjoint from the training subset).
HELD_SEED = 7
#: Settings of the reference CNN whose features the distances use: the
#: experiment's CNN_DEFAULTS when the recorded results ran (before 2026-12-06),
#: pinned so that reruns measure with the same yardstick.
REFERENCE_CNN = dict(
    updates=None, max_epochs=100, patience=10, min_steps=1000, validation_fraction=0.2
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100, help="training images (balanced)")
    parser.add_argument("--latents", type=int, nargs="+", default=[2, 3, 4, 8])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-class", type=int, default=100, help="generated digits per class")
    parser.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=[1.0],
        help="decoder temperatures (Decode(temperature=T)), each scored on the same fitted "
        "class-VAEs",
    )
    parser.add_argument(
        "--residual",
        action="store_true",
        help="also score generation='residual' (same seed, so the same class-VAEs)",
    )
    parser.add_argument(
        "--conditional",
        type=int,
        nargs="+",
        default=[],
        metavar="MIN_STEPS",
        help="also score one conditional VAE on all classes (vae='conditional'), "
        "once per min_steps value given (e.g. 0 300)",
    )
    _cli.add_common_args(parser)
    args = parser.parse_args(argv)
    threads = bm.set_threads(args.threads)

    from imblearn.over_sampling import SMOTE
    from sklearn.linear_model import LogisticRegression

    from skvae import CNNClassifier, VAEOversampler
    from skvae.experiment.config import VAE_DEFAULTS, oversampler_params
    from skvae.experiment.data import load_dataset, make_cv
    from skvae.generation import Decode, Residual
    from skvae.metrics import (
        class_consistency,
        frechet_distance,
        generation_report,
        memorisation_rate,
        penultimate_features,
        train_synthetic_test_real,
    )

    data = load_dataset("mnist", str(args.data_home))
    X, y = data.data, data.target
    cv = make_cv(args.size, args.seed, test_size_per_class=1, test_mask=data.test_mask)
    train, _ = next(cv.split(X, y))
    # Two disjoint held-out sets: one trains the reference CNN, one is scored.
    ref_rows = held_out_rows(y, data.test_mask, train, 100, HELD_SEED)
    used = np.concatenate([train, ref_rows])
    held = held_out_rows(y, data.test_mask, used, args.per_class, HELD_SEED + 1)

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        reference = CNNClassifier(random_state=args.seed, **REFERENCE_CNN).fit(
            X[ref_rows], y[ref_rows]
        )
    ref_s = time.perf_counter() - start
    ref_acc = reference.score(X[held], y[held])
    features = functools.partial(penultimate_features, reference)
    tstr = LogisticRegression(max_iter=300)
    rows = []

    # Yardstick 1: real held-out digits, half judged against the other half.
    half = np.concatenate([np.flatnonzero(y[held] == c)[: args.per_class // 2] for c in range(10)])
    other = np.setdiff1d(np.arange(len(held)), half)
    rows.append(
        dict(
            generator="real (held-out)",
            class_consistency=class_consistency(reference, X[held][half], y[held][half]),
            frechet_distance=frechet_distance(X[held][other], X[held][half], features=features),
            tstr=train_synthetic_test_real(
                tstr, X[held][half], y[held][half], X[held][other], y[held][other]
            ),
            fit_s=0.0,
        )
    )

    # Yardstick 2: SMOTE interpolations of the training digits, per class.
    n_per_class = args.size // 10
    start = time.perf_counter()
    smote = SMOTE(
        sampling_strategy={c: n_per_class + args.per_class for c in range(10)},
        k_neighbors=min(5, n_per_class - 1),
        random_state=args.seed,
    )
    X_sm, y_sm = smote.fit_resample(X[train], y[train])
    X_new, y_new = X_sm[len(train) :], y_sm[len(train) :]
    smote_s = time.perf_counter() - start
    memo = [
        memorisation_rate(X_new[y_new == c], X[train][y[train] == c], X[held][y[held] == c])
        for c in range(10)
    ]
    rows.append(
        dict(
            generator="SMOTE",
            class_consistency=class_consistency(reference, X_new, y_new),
            frechet_distance=frechet_distance(X[held], X_new, features=features),
            tstr=train_synthetic_test_real(tstr, X_new, y_new, X[held], y[held]),
            memorisation_rate=float(np.mean(memo)),
            fit_s=smote_s,
        )
    )

    # (generation, min_steps of a conditional VAE or None for class-VAEs)
    variants = [("decode", None)]
    variants += [("residual", None)] if args.residual else []
    variants += [("decode", steps) for steps in args.conditional]

    def fit(sampler) -> float:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sampler.fit_resample(X[train], y[train])
        return time.perf_counter() - start

    # The temperature acts after training: with memory, the fits after the
    # first of each sampler load the class-VAEs it trained.
    with tempfile.TemporaryDirectory() as cache:
        for latent, (generation, cond_steps) in itertools.product(args.latents, variants):
            conditional = (
                {} if cond_steps is None else dict(vae="conditional", min_steps=cond_steps)
            )
            sampler = VAEOversampler(
                latent,
                generation=generation,
                memory=cache,
                random_state=args.seed,
                **oversampler_params({**VAE_DEFAULTS, **conditional}),
            )
            fit_s = fit(sampler)
            strategy = {"decode": Decode, "residual": Residual}[generation]
            for temperature in args.temperatures:
                fit(sampler.set_params(generation=strategy(temperature=temperature)))
                report = generation_report(
                    sampler,
                    X[train],
                    y[train],
                    X[held],
                    y[held],
                    reference=reference,
                    tstr_estimator=tstr,
                    n_per_class=args.per_class,
                    features=features,
                    random_state=args.seed,
                )
                name = f"VAE latent {latent}"
                if cond_steps is not None:
                    name = f"conditional {name}, min_steps {cond_steps}"
                name += ", residual" if generation == "residual" else ""
                name += f", T={temperature:g}" if temperature != 1 else ""
                rows.append(dict(generator=name, **report, fit_s=fit_s))
                bm.print_table(rows[-1:])

    columns = [
        "generator",
        "class_consistency",
        "frechet_distance",
        "tstr",
        "memorisation_rate",
        "memorisation_rate_real",
        "fit_s",
    ]
    meta = dict(
        size=args.size,
        seed=args.seed,
        per_class=args.per_class,
        temperatures=args.temperatures,
        residual=args.residual,
        conditional=args.conditional,
        torch_threads=threads,
        reference_accuracy=round(float(ref_acc), 4),
        reference_fit_s=round(ref_s, 1),
    )
    notes = [
        "class_consistency: accuracy of the reference CNN (100 held-out real digits per class, "
        f"REFERENCE_CNN; accuracy {ref_acc:.3f} on the scored held-out digits) on the digits.",
        "frechet_distance: on the reference CNN's 128 hidden-layer features, against the "
        "held-out real digits (for 'real', one half against the other).",
        "tstr: macro F1 on the held-out real digits of LogisticRegression(max_iter=300) "
        "trained on the generated digits alone.",
        "memorisation_rate: share of generated digits nearer (pixels, L2) a training digit of "
        "their class than any held-out one; memorisation_rate_real is the same share for "
        "held-out real digits (VAE rows), the level of a generator that copies nothing.",
        "T: VAEOversampler(generation=Decode(temperature=T)), the same fitted class-VAEs "
        "decoded as sigmoid(logits / T); rows without T use T=1 (the likelihood's mean, the "
        "paper).",
        "residual: VAEOversampler(generation='residual'), a real training digit plus the "
        "decoder's change from its code to a draw from its posterior (same seed, same VAEs).",
    ]
    title = "Quality of generated digits"
    bm.write_table("generation_quality", title, rows, columns, meta, out_dir=args.out, notes=notes)


if __name__ == "__main__":
    main()
