"""Oversample scikit-learn's 8x8 digits with one VAE per class and show the result.

Run: ``python examples/oversample_digits.py`` (about a minute on 2 CPU cores).
"""

from collections import Counter

import numpy as np
from sklearn.linear_model import LogisticRegression

from skvae import VAEOversampler
from skvae.datasets import load_digits
from skvae.metrics import class_consistency

X_all, y_all = load_digits(return_X_y=True)
rng = np.random.RandomState(0)
rows = np.concatenate(
    [rng.choice(np.flatnonzero(y_all == c), 20, replace=False) for c in range(10)]
)
X, y = X_all[rows], y_all[rows]

sampler = VAEOversampler(
    latent=3, augment_size=1.0, training={"min_steps": 200}, random_state=0, verbose=1
)
X_res, y_res = sampler.fit_resample(X, y)
print(f"real rows: {len(X)}, after resampling: {len(X_res)}")
print("generated per class:", dict(Counter(y_res[len(X) :].tolist())))

# Did the VAEs learn their classes? A classifier trained on the *other* real digits
# reads the generated ones: chance is 0.10.
others = np.setdiff1d(np.arange(len(y_all)), rows)
reference = LogisticRegression(max_iter=2000).fit(X_all[others], y_all[others])
consistency = class_consistency(reference, X_res[len(X) :], y_res[len(X) :])
print(f"generated digits read as their class: {consistency:.2f}")
assert consistency > 0.5, f"the class-VAEs did not learn their classes: {consistency:.2f}"

# One generated digit per class as 8x8 ASCII art (darker = denser).
shades = " .:-=+*#%@"
for label in range(10):
    image = sampler.sample(1, label, random_state=0).reshape(8, 8)
    art = ["".join(shades[min(9, int(v * 10))] for v in row) for row in image]
    print(f"class {label}:\n  " + "\n  ".join(art))
