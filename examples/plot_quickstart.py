"""
Quickstart: a VAE oversampler and the CNN in one pipeline
==========================================================

One VAE per class generates new digits; the CNN trains on real and generated ones.
Small settings so that it runs in seconds on a CPU.
"""

import matplotlib.pyplot as plt
import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.metrics import f1_score

from skvae import BalancedSubsetSplit, CNNClassifier, VAEOversampler
from skvae.datasets import load_digits

X, y = load_digits(return_X_y=True)
train, test = next(
    BalancedSubsetSplit(1, train_size=200, test_size_per_class=50, random_state=0).split(X, y)
)

pipe = Pipeline(
    [
        ("vae", VAEOversampler(latent=2, training={"max_epochs": 30}, random_state=0)),
        ("cnn", CNNClassifier(module__channels=(16, 32, 32, 32), random_state=0)),
    ]
)
pipe.fit(X[train], y[train])
score = f1_score(y[test], pipe.predict(X[test]), average="macro")
print(f"macro F1 on 500 test digits: {score:.3f}")
assert score > 0.8, f"the pipeline did not learn: macro F1 {score:.3f}"

# %%
# The fitted sampler generates new digits of any class.
sampler = pipe.named_steps["vae"]
fig, axes = plt.subplots(2, 10, figsize=(8, 2))
for label in range(10):
    for row, image in enumerate(sampler.sample(2, label, random_state=0)):
        axes[row, label].imshow(image.reshape(8, 8), cmap="gray_r")
        axes[row, label].set_axis_off()
fig.suptitle("generated digits, two per class")
plt.show()
print("generated rows per class:", dict(sampler.sampling_strategy_))
print("all finite:", bool(np.isfinite(sampler.sample(50, 3)).all()))
