"""
Generating digits and choosing a latent sampler
===============================================

Train the class-VAEs once, then decode codes drawn three ways: the prior N(0, I)
(the paper), the uniform box of the authors' code, and a Gaussian mixture fitted to
the class's own codes, which stays close to the training images. Each is a
:class:`~skvae.generation.Decode` strategy, what
``VAEOversampler(generation=Decode(latent_sampler=...))`` fits per class.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from skvae import VAEOversampler
from skvae.datasets import load_digits
from skvae.generation import Decode
from skvae.latent import GaussianMixtureSampler, PriorSampler, UniformSampler
from skvae.metrics import class_consistency

X, y = load_digits(return_X_y=True)
rows = np.concatenate([np.flatnonzero(y == c)[:30] for c in range(10)])
sampler = VAEOversampler(latent=2, training={"max_epochs": 100}, random_state=0)
X_res, y_res = sampler.fit_resample(X[rows], y[rows])

# %%
# Did the VAEs learn their classes? A classifier trained on the other real digits
# reads the generated ones (chance: 0.10).
reference = LogisticRegression(max_iter=2000).fit(np.delete(X, rows, 0), np.delete(y, rows))
consistency = class_consistency(reference, X_res[len(rows) :], y_res[len(rows) :])
print(f"generated digits read as their class: {consistency:.2f}")
assert consistency > 0.5, f"the class-VAEs did not learn their classes: {consistency:.2f}"

# %%
# The same fitted VAEs, three latent samplers (each fitted on the class's codes).
codes = {}
for label, vae in sampler.vaes_.items():
    images = torch.as_tensor(X[rows][y[rows] == label], dtype=torch.float32)
    with torch.inference_mode():
        mean, _ = vae.encode(images.reshape(-1, *vae.input_shape))
    codes[label] = (images.numpy(), mean.numpy())
kinds = {
    "prior": PriorSampler(),
    "uniform": UniformSampler(1.5),
    "gmm": GaussianMixtureSampler(n_components=2),
}
fig, axes = plt.subplots(len(kinds), 10, figsize=(8, 2.6))
for row, (name, latent_sampler) in enumerate(kinds.items()):
    for label in range(10):
        decode = Decode(latent_sampler=latent_sampler).fit(sampler.vaes_[label], *codes[label])
        image = decode.generate(1, np.random.RandomState(row))
        axes[row, label].imshow(image.reshape(8, 8), cmap="gray_r")
        axes[row, label].set_axis_off()
    axes[row, 0].set_title(name, fontsize=8, loc="left")
plt.show()
