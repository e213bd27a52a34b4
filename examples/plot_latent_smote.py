"""
SMOTE in a VAE's latent space
=============================

:class:`~skvae.VAEEncoder` is a scikit-learn transformer over the same VAE networks as
:class:`~skvae.VAEOversampler`: ``transform`` maps rows to latent codes and
``inverse_transform`` decodes codes back to rows. That lets other tools work in the
latent space. Here imbalanced-learn's SMOTE interpolates between the *codes* of a
minority class of scikit-learn's 8x8 digits, and the VAE decodes the new codes into new
digits. SMOTE on the pixels would blend two digits' strokes; in latent space it moves
along what the VAE learnt. One small run, to show the API; it is not a benchmark.

The VAE is fitted on all rows, so it learns the minority least: with 10 zeros instead
of 30 (and 4 latent dimensions instead of 8) the zeros got no region of their own, and
codes interpolated between them decoded to 6s and 9s. Check what comes out.
"""

import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression

from skvae import VAEEncoder
from skvae.datasets import load_digits
from skvae.metrics import class_consistency

X_all, y_all = load_digits(return_X_y=True)
# Keep 30 of the ~180 zeros: class 0 becomes the minority.
keep = (y_all != 0) | (np.cumsum(y_all == 0) <= 30)
X, y = X_all[keep], y_all[keep]

encoder = VAEEncoder(latent=8, image_shape=None, training={"max_epochs": 300}, random_state=0)
encoder.fit(X)
codes = encoder.transform(X)
codes_res, y_res = SMOTE(sampling_strategy={0: 60}, k_neighbors=3, random_state=0).fit_resample(
    codes, y
)
new_codes = codes_res[len(codes) :]  # imbalanced-learn appends the new rows
new_digits = encoder.inverse_transform(new_codes)
print(f"codes {codes.shape}, {len(new_codes)} new zeros decoded to {new_digits.shape}")
# Do the new digits read as zeros? A classifier that never saw the 30 zeros judges.
unseen = ~(keep & (y_all == 0))
reference = LogisticRegression(max_iter=2000).fit(X_all[unseen], y_all[unseen])
consistency = class_consistency(reference, new_digits, np.zeros(len(new_digits), int))
print(f"decoded codes read as zeros: {consistency:.2f}")
assert consistency > 0.5, f"latent-space SMOTE made few zeros: {consistency:.2f}"

# %%
# Top row: 10 of the 30 real zeros; bottom rows: 20 of the 30 decoded from SMOTE's codes.
fig, axes = plt.subplots(3, 10, figsize=(8, 2.6))
for ax, digit in zip(axes.ravel(), np.concatenate([X[y == 0][:10], new_digits[:20]])):
    ax.imshow(digit.reshape(8, 8), cmap="gray_r")
    ax.axis("off")
fig.suptitle("Real zeros (top) and zeros decoded from latent-space SMOTE")
plt.show()
