"""
Choosing the latent size with GridSearchCV
==========================================

The latent size is a hyper-parameter like any other: cross-validation on the training
data chooses it; the test data stay out of the choice.
"""

import matplotlib.pyplot as plt
from imblearn.pipeline import Pipeline
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skvae import BalancedSubsetSplit, CNNClassifier, VAEOversampler
from skvae.datasets import load_digits

X, y = load_digits(return_X_y=True)
train, test = next(
    BalancedSubsetSplit(1, train_size=150, test_size_per_class=50, random_state=1).split(X, y)
)
pipe = Pipeline(
    [
        ("vae", VAEOversampler(training={"max_epochs": 20}, random_state=0)),
        # 2,000 updates per fit instead of the default 2000 + 20 n (5,000-8,000 here: in a
        # pipeline n counts the generated rows too), so that the search runs in minutes.
        ("cnn", CNNClassifier(updates=2000, module__channels=(8, 16, 16, 16), random_state=0)),
    ]
)
search = GridSearchCV(
    pipe,
    {"vae__latent": [2, 4]},
    scoring="f1_macro",
    cv=StratifiedKFold(2, shuffle=True, random_state=0),
)
search.fit(X[train], y[train])
test_f1 = search.score(X[test], y[test])
print("best latent size:", search.best_params_["vae__latent"])
print(f"test macro F1 of the refitted best pipeline: {test_f1:.3f}")
# A network that learnt nothing scores about 0.02 (one class predicted): fail loudly.
assert test_f1 > 0.8, f"the refitted pipeline did not learn: macro F1 {test_f1:.3f}"

# %%
latents = search.cv_results_["param_vae__latent"].data
plt.bar([str(z) for z in latents], search.cv_results_["mean_test_score"])
plt.xlabel("latent size")
plt.ylabel("cross-validated macro F1")
plt.show()
