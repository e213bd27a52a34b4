"""Train several class-VAEs at once: one vectorised pass instead of a Python loop.

:func:`train_vaes_batched` stacks the parameters of K structurally identical
VAEs and runs their forward, loss and gradients as one ``torch.vmap`` call per
step, with a hand-written RMSprop on the stacked tensors. The training loop is
:func:`~skvae.nn.training.train_models`, the one that :func:`~skvae.nn.train_vae`
runs over a single VAE; this module supplies only the arithmetic of the stacked
models (:class:`_StackedVAEs`). Each model therefore sees exactly what
``train_vae`` would show it: its own rows, shuffles, noise, learning rate, early
stopping and divergence handling.

How the models are kept apart:

- **Noise and shuffles.** Per model and epoch, ``torch.randperm(n_k,
  generator=generators[k])`` orders the rows; per step, the batch's noise
  ``(b_k, latent)`` is drawn from the same generator (as :meth:`VAE.loss`
  draws it), and per validation the noise of each chunk of 1024 rows (as
  :func:`~skvae.nn.evaluate_vae` draws it). The noise enters the vectorised
  loss as an argument.
- **Classes of different sizes.** Every model walks its own epochs (the loop's
  schedule). Within a step the batches of different sizes are padded to the
  largest with copies of the batch's first row and noise, and the padded rows
  are masked out of the per-model mean loss, so each model's loss and gradient
  are those of its own batch only.
- **Stopping.** A model that stopped leaves the vectorised step: later steps
  run only the models still training, and its parameters, RMSprop state and
  generator are no longer touched. A step whose loss is non-finite for one
  model updates the others, and that model restores its best weights, halves
  its own learning rate and clears its own RMSprop state, as in ``train_vae``.

What it saves is the per-step overhead of K separate small steps (Python,
dispatch, small kernels), so it pays for small networks, whose steps are mostly
that overhead. It saves no arithmetic, and costs memory where a network's weights
are large: ``torch.func`` returns gradients as new tensors, so the stacked weight
gradients (for the paper's ConvVAE on 28x28 MNIST, those of its two dense layers,
which hold most of its weights) are allocated and first touched anew at every
step. The measured speed-ups, with their commands, are in ``benchmarks/README.md``
(``benchmarks/bench_vae_batched.py``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from .training import TrainResult, autocast, train_models
from .vae import VAE, kl_divergence, standard_normal

# torch.optim.RMSprop's defaults (no momentum, no centering, no weight decay).
_ALPHA = 0.99
_EPS = 1e-8
# Below this, sqrt(square_avg) + 1e-8 is exactly 1e-8 in float32 (sqrt(1e-31) ~ 3.2e-16
# is under half an ulp of 1e-8, 4.4e-16). Dead units leave exact zeros and subnormals
# there, whose torch.sqrt is slower than a normal number's (benchmarks/README.md).
_TINY = 1e-31
# evaluate_vae's default batch: it draws the validation noise chunk by chunk.
_EVAL_BATCH = 1024
# Default bound on the input values (rows summed over models, times values per row)
# of one vectorised call on the CPU: 64 MNIST rows. Larger calls make stacked
# activations and gradients of tens of MB per step, which glibc maps anew (page
# faults) each time, and can cost more than the per-class loop (benchmarks/README.md).
# Other devices get no bound.
_CPU_STEP_VALUES = 64 * 784


class _LossGivenNoise(nn.Module):
    """:meth:`VAE.loss` with the reparameterisation noise passed in.

    ``torch.vmap`` cannot draw from a per-model ``torch.Generator``, so the noise
    is drawn outside, in the order :meth:`VAE.loss` draws it, and handed in.
    """

    def __init__(self, vae: VAE) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, eps: torch.Tensor, beta: float) -> torch.Tensor:
        vae = self.vae
        mu, logvar = vae.encode(x)
        # VAE.forward casts its noise to mu's dtype (bfloat16 under autocast).
        z = mu + eps.to(mu.dtype) * torch.exp(0.5 * logvar)
        params = vae.decode(z)
        return vae.reconstruction_nll(x, params) + beta * kl_divergence(mu, logvar)


def batchable(vaes: Sequence[nn.Module]) -> str | None:
    """Why ``vaes`` cannot be trained by :func:`train_vaes_batched`, or None if they can.

    They must be :class:`~skvae.nn.VAE` instances of one class that keeps
    :meth:`VAE.forward` and :meth:`VAE.loss` (the vectorised loss re-implements
    them), with the same layers (same ``repr``), parameter names, shapes, dtypes
    and device, and no buffers (a buffer such as a batch-norm running mean would
    be updated in place, which ``vmap`` cannot do per model).
    """
    if len(vaes) == 0:
        return "no VAEs were given"
    first = vaes[0]
    if not isinstance(first, VAE):
        return f"expected skvae.nn.VAE instances, got {type(first).__name__}"
    cls = type(first)
    if cls.forward is not VAE.forward or cls.loss is not VAE.loss:
        return f"{cls.__name__} overrides VAE.forward or VAE.loss"
    if any(True for _ in first.buffers()):
        return f"{cls.__name__} has buffers"
    shapes = [(n, p.shape, p.dtype, p.device) for n, p in first.named_parameters()]
    devices = {p.device for p in first.parameters()}
    if len(devices) > 1:
        return "the parameters of one VAE lie on several devices"
    layout = repr(first)
    for i, vae in enumerate(vaes[1:], start=1):
        if type(vae) is not cls:
            return f"VAE {i} is a {type(vae).__name__}, VAE 0 a {cls.__name__}"
        if (vae.latent, vae.input_shape, vae.likelihood, vae.categorical) != (
            first.latent,
            first.input_shape,
            first.likelihood,
            first.categorical,
        ):
            return (
                f"VAE {i} differs from VAE 0 in latent size, input shape, likelihood "
                "or categorical groups"
            )
        if [(n, p.shape, p.dtype, p.device) for n, p in vae.named_parameters()] != shapes:
            return f"VAE {i} has other parameters (names, shapes, dtypes or device) than VAE 0"
        if repr(vae) != layout:
            return f"VAE {i} has other layers than VAE 0"
    return None


def train_vaes_batched(
    vaes: Sequence[VAE],
    X_trains: Sequence[torch.Tensor],
    X_valids: Sequence[torch.Tensor | None] | None = None,
    *,
    max_epochs: int = 200,
    min_steps: int = 0,
    patience: int = 20,
    lr: float = 1e-3,
    batch_size: int = 100,
    beta: float = 1.0,
    generators: Sequence[torch.Generator | None] | None = None,
    max_divergences: int = 3,
    callback: Callable[[int, dict], None] | None = None,
    precision: str = "fp32",
    max_step_rows: int | None = None,
) -> list[TrainResult]:
    """Train K structurally identical VAEs together, each as :func:`train_vae` would.

    Model ``k`` is trained as ``train_vae(vaes[k], X_trains[k], X_valids[k],
    generator=generators[k], ...)``, by the same loop (see the module docstring);
    each step runs the loss and gradients of all models still training as one
    ``torch.vmap`` (or a few, see ``max_step_rows``) and ``torch.optim.RMSprop``'s
    update, bit for bit, on the stacked tensors. Results equal ``train_vae``'s to
    float rounding only: vectorised kernels sum in another order, which RMSprop's
    division by the gradients' running RMS can amplify over a tiny class's steps.

    Parameters
    ----------
    vaes : sequence of VAE
        The models (see :func:`batchable`), trained in place on the data's device.
    X_trains : sequence of torch.Tensor
        Per model, training samples of shape ``(n_k, *input_shape)``, ``n_k >= 1``.
    X_valids : sequence of (torch.Tensor or None), optional
        Per model, validation samples; ``None`` or empty monitors that model's
        training loss, as does ``None`` for the whole argument.
    max_epochs, min_steps, patience, lr, batch_size, beta, max_divergences, precision
        As in :func:`train_vae`, shared by all models.
    generators : sequence of (torch.Generator or None), optional
        Per model, the CPU generator of its shuffles and noise (None: torch's global).
    callback : callable, optional
        Called as ``callback(k, entry)`` with each history entry of model ``k``.
    max_step_rows : int, optional
        Most rows (over the models, padding included) in one vectorised call; a
        larger step is split over runs of neighbouring models (only speed and
        memory change). None: on the CPU, 50,176 input values (64 MNIST images;
        more cost more in page faults than vectorising saves), else no bound.

    Returns
    -------
    list of TrainResult
        One per model; each of ``vaes`` ends with its best weights, in eval mode.

    Raises
    ------
    ValueError
        If the models cannot be batched (:func:`batchable`) or the arguments do not fit.

    Examples
    --------
    >>> import torch
    >>> from skvae.nn import MLPVAE, train_vaes_batched
    >>> vaes = [MLPVAE(4, latent=2, hidden=(8,)) for _ in range(3)]
    >>> X = [torch.rand(6, 4), torch.rand(9, 4), torch.rand(6, 4)]  # sizes may differ
    >>> gens = [torch.Generator().manual_seed(k) for k in range(3)]
    >>> results = train_vaes_batched(vaes, X, max_epochs=3, batch_size=4, generators=gens)
    >>> [r.n_steps for r in results]  # 3 epochs of 2, 3 and 2 batches
    [6, 9, 6]
    """
    arithmetic = dict(lr=lr, beta=beta, precision=precision, max_step_rows=max_step_rows)
    stack = _StackedVAEs(vaes, X_trains, X_valids, generators, **arithmetic)
    return train_models(
        stack,
        max_epochs=max_epochs,
        min_steps=min_steps,
        patience=patience,
        batch_size=batch_size,
        max_divergences=max_divergences,
        callback=callback,
    )


def _checked_inputs(
    vaes: list[VAE],
    X_trains: Sequence[torch.Tensor],
    X_valids: Sequence[torch.Tensor | None] | None,
    generators: Sequence[torch.Generator | None] | None,
    precision: str,
) -> tuple[list, list, list]:
    """``X_trains``, ``X_valids`` (empty ones as None) and ``generators`` as lists of K.

    Raises the ValueError of :func:`train_vaes_batched` for what does not fit.
    """
    reason = batchable(vaes)
    if reason is not None:
        raise ValueError(f"train_vaes_batched cannot train these VAEs together: {reason}.")
    K = len(vaes)
    X_trains = list(X_trains)
    X_valids = [None] * K if X_valids is None else list(X_valids)
    generators = [None] * K if generators is None else list(generators)
    for name, seq in (("X_trains", X_trains), ("X_valids", X_valids)):
        if len(seq) != K:
            raise ValueError(f"{name} has {len(seq)} entries for {K} VAEs.")
    if len(generators) != K:
        raise ValueError(f"generators has {len(generators)} entries for {K} VAEs.")
    device = next(vaes[0].parameters()).device
    autocast(precision, device)  # validates precision before any work
    shape = tuple(vaes[0].input_shape)
    for k, X in enumerate(X_trains):
        if not isinstance(X, torch.Tensor) or tuple(X.shape[1:]) != shape or len(X) < 1:
            raise ValueError(
                f"X_trains[{k}] must be a non-empty tensor of shape (n, *{shape}), got "
                f"{tuple(X.shape) if isinstance(X, torch.Tensor) else type(X).__name__}."
            )
        if X.device != device:
            raise ValueError(
                f"X_trains[{k}] lies on {X.device} but the VAEs on {device}; move them "
                "to one device."
            )
    for k, X in enumerate(X_valids):
        if X is None or len(X) == 0:
            X_valids[k] = None
        elif tuple(X.shape[1:]) != shape or X.device != device:
            raise ValueError(
                f"X_valids[{k}] must have shape (n, *{shape}) and lie on {device}, got "
                f"{tuple(X.shape)} on {X.device}."
            )
    return X_trains, X_valids, generators


def _rmsprop_(
    param: torch.Tensor,
    square_avg: torch.Tensor,
    grad: torch.Tensor,
    neg_lr: float | torch.Tensor,
    avg: torch.Tensor,
) -> None:
    """One ``torch.optim.RMSprop`` step (defaults) on stacked rows, in place.

    Bit for bit what torch's single-tensor RMSprop computes per row:
    ``square_avg = alpha * square_avg + (1 - alpha) * grad**2`` and
    ``param += (-lr * grad) / (sqrt(square_avg) + eps)``. ``neg_lr`` is ``-lr``,
    a float or one value per row; ``avg`` is a scratch buffer of ``param``'s
    shape that spares a fresh, page-faulting tensor.
    """
    square_avg.mul_(_ALPHA).addcmul_(grad, grad, value=1 - _ALPHA)
    # No zero or subnormal reaches sqrt; entries under _TINY still give eps exactly.
    torch.clamp_min(square_avg, _TINY, out=avg).sqrt_().add_(_EPS)
    if isinstance(neg_lr, torch.Tensor):
        # addcdiv computes param + (value * t1) / t2: the same rounding as value=-lr
        grad = grad.mul(neg_lr.to(grad.dtype).view(-1, *([1] * (grad.dim() - 1))))
        param.addcdiv_(grad, avg)
    else:
        param.addcdiv_(grad, avg, value=neg_lr)


class _StackedVAEs:
    """K VAEs stacked for ``torch.vmap``, as :func:`train_vaes_batched` trains them.

    The :class:`~skvae.nn.training.ModelStack` of the shared training loop:
    per-model lists, and the parameters, best weights and RMSprop state of all
    models as stacked tensors (row ``k`` is model ``k``).
    """

    def __init__(
        self,
        vaes: Sequence[VAE],
        X_trains: Sequence[torch.Tensor],
        X_valids: Sequence[torch.Tensor | None] | None,
        generators: Sequence[torch.Generator | None] | None,
        *,
        lr: float,
        beta: float,
        precision: str,
        max_step_rows: int | None,
    ) -> None:
        vaes = list(vaes)
        X_trains, X_valids, generators = _checked_inputs(
            vaes, X_trains, X_valids, generators, precision
        )
        self.vaes, self.K = vaes, len(vaes)
        self.device = next(vaes[0].parameters()).device
        self.latent = int(vaes[0].latent)
        self.X_valids, self.generators = X_valids, generators
        self.has_valid = [X is not None for X in X_valids]
        self.beta, self.precision = float(beta), precision
        if max_step_rows is None:
            per_row = math.prod(vaes[0].input_shape)
            on_cpu = self.device.type == "cpu"
            max_step_rows = max(1, _CPU_STEP_VALUES // per_row) if on_cpu else 2**62
        if int(max_step_rows) < 1:
            raise ValueError(f"max_step_rows must be >= 1 or None, got {max_step_rows!r}.")
        self.max_rows = int(max_step_rows)

        # All training rows in one tensor; model k's rows start at offsets[k].
        self.X_all = torch.cat([X.detach() for X in X_trains])
        self.n_rows = [len(X) for X in X_trains]
        self.offsets = [0]
        for n in self.n_rows[:-1]:
            self.offsets.append(self.offsets[-1] + n)
        # Per model, the rows (indices into X_all) and noise of its loaded batch.
        self.batches: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * self.K

        for vae in vaes:
            vae.train()  # stack_module_state wants one mode; train_vae trains in train mode
        stacked, _ = stack_module_state(vaes)
        # Plain tensors updated in place by the hand-written RMSprop; gradients come
        # from torch.func.grad, not from autograd leaves.
        self.params = {f"vae.{k}": v.detach() for k, v in stacked.items()}
        self.best = {k: v.clone() for k, v in self.params.items()}
        self.square_avg = {k: torch.zeros_like(v) for k, v in self.params.items()}
        # Preallocated: a fresh tensor of K models' weights per step page-faults.
        self.scratch = {k: torch.empty_like(v) for k, v in self.params.items()}
        self.lr = [float(lr)] * self.K

        # Parameters are swapped in by functional_call: the template holds none.
        self.template = _LossGivenNoise(copy.deepcopy(vaes[0])).to("meta")
        self._grad_step = vmap(grad_and_value(self._mean_loss))
        self._sum_loss_v = vmap(self._sum_loss)

    # -------------------------------------------------------- loss functions
    def _per_sample(self, params, x, eps) -> torch.Tensor:
        with autocast(self.precision, self.device):
            return functional_call(self.template, params, (x, eps, self.beta)).float()

    def _mean_loss(self, params, x, eps, mask, count) -> torch.Tensor:
        # Padded rows copy a real row, so they are finite when it is; where() keeps
        # them out of the value and the gradient.
        loss = self._per_sample(params, x, eps)
        return torch.where(mask, loss, torch.zeros_like(loss)).sum() / count

    def _sum_loss(self, params, x, eps, mask) -> torch.Tensor:
        loss = self._per_sample(params, x, eps)
        return torch.where(mask, loss, torch.zeros_like(loss)).sum()

    # --------------------------------------------------------------- helpers
    def _select(self, models: list[int]) -> dict[str, torch.Tensor]:
        """Stacked parameters of ``models``: views for a run of neighbours, else a copy."""
        first, last = models[0], models[-1]
        if last - first + 1 == len(models):  # sorted and contiguous
            return {k: v[first : last + 1] for k, v in self.params.items()}
        index = torch.tensor(models, device=self.device)
        return {k: v.index_select(0, index) for k, v in self.params.items()}

    def _chunks(self, widths: list[int]) -> list[tuple[int, int]]:
        """Split positions ``0..len(widths)`` into runs of at most ``max_rows`` padded rows."""
        out, start, widest = [], 0, 0
        for i, w in enumerate(widths):
            widest_with = max(widest, w)
            if i > start and (i - start + 1) * widest_with > self.max_rows:
                out.append((start, i))
                start, widest_with = i, w
            widest = widest_with
        out.append((start, len(widths)))
        return out

    def _noise(self, k: int, n: int) -> torch.Tensor:
        return standard_normal((n, self.latent), self.generators[k], self.device, torch.float32)

    @staticmethod
    def _pad(rows: list[torch.Tensor], width: int) -> torch.Tensor:
        """Stack per-model tensors, padding each to ``width`` with its first element."""
        out = []
        for r in rows:
            if len(r) < width:
                r = torch.cat([r, r[:1].expand(width - len(r), *r.shape[1:])])
            out.append(r)
        return torch.stack(out)

    def _mask(self, sizes: list[int], width: int) -> torch.Tensor:
        arange = torch.arange(width, device=self.device)
        return arange.unsqueeze(0) < torch.tensor(sizes, device=self.device).unsqueeze(1)

    @staticmethod
    def _copy_row(src: dict, dst: dict, k: int) -> None:
        for name, value in src.items():
            dst[name][k].copy_(value[k])

    # ------------------------------------------------------------ ModelStack
    def load_batch(self, k: int, rows: torch.Tensor) -> None:
        # The batch's noise is drawn right after its shuffle, as VAE.loss draws it.
        self.batches[k] = (rows + self.offsets[k], self._noise(k, len(rows)))

    def step(self, models: list[int]) -> list[float]:
        """One optimiser step of every model in ``models`` on its loaded batch."""
        indices = [self.batches[k][0] for k in models]
        noises = [self.batches[k][1] for k in models]
        sizes = [len(idx) for idx in indices]
        losses: list[float] = []
        for lo, hi in self._chunks(sizes):
            chunk, chunk_sizes = models[lo:hi], sizes[lo:hi]
            width = max(chunk_sizes)
            x = self.X_all[self._pad(indices[lo:hi], width)]
            eps = self._pad(noises[lo:hi], width)
            mask = self._mask(chunk_sizes, width)
            count = torch.tensor(chunk_sizes, dtype=torch.float32, device=self.device)
            grads, values = self._grad_step(self._select(chunk), x, eps, mask, count)
            chunk_losses = values.tolist()
            ok = [i for i, v in enumerate(chunk_losses) if math.isfinite(v)]
            if ok:  # a model with a non-finite loss takes no step
                self._rmsprop(grads, [chunk[i] for i in ok], ok, len(chunk))
            losses += chunk_losses
        return losses

    def _rmsprop(
        self, grads: dict[str, torch.Tensor], models: list[int], rows: list[int], n_rows: int
    ) -> None:
        """``torch.optim.RMSprop`` (defaults) on the stacked rows of ``models``.

        ``grads`` holds ``n_rows`` rows; ``rows`` are those of ``models``. Every
        other model's parameters and state stay untouched.
        """
        lrs = [self.lr[k] for k in models]
        # One float while no model has halved its rate (the usual case), else per row.
        neg_lr = -lrs[0] if len(set(lrs)) == 1 else -torch.tensor(lrs, device=self.device)
        first, m = models[0], len(models)
        in_place = models[-1] - first + 1 == m  # a run of neighbours: update views
        index = None if in_place else torch.tensor(models, device=self.device)
        g_index = None if len(rows) == n_rows else torch.tensor(rows, device=self.device)
        for name, param in self.params.items():
            g = grads[name] if g_index is None else grads[name].index_select(0, g_index)
            if in_place:
                p, s = param[first : first + m], self.square_avg[name][first : first + m]
            else:
                p = param.index_select(0, index)
                s = self.square_avg[name].index_select(0, index)
            _rmsprop_(p, s, g, neg_lr, self.scratch[name][:m])
            if not in_place:
                param.index_copy_(0, index, p)
                self.square_avg[name].index_copy_(0, index, s)

    @torch.no_grad()
    def evaluate(self, models: list[int]) -> list[float]:
        """Mean validation loss of each of ``models``, as evaluate_vae computes it."""
        # evaluate_vae draws each chunk's noise (1024 rows) in turn.
        noises = []
        for k in models:
            nv = len(self.X_valids[k])
            chunks = [self._noise(k, min(_EVAL_BATCH, nv - s)) for s in range(0, nv, _EVAL_BATCH)]
            noises.append(torch.cat(chunks))
        totals = [0.0] * len(models)
        self.template.eval()
        per_call = max(1, self.max_rows // len(models))
        longest = max(len(self.X_valids[k]) for k in models)
        for start in range(0, longest, per_call):
            part = [i for i, k in enumerate(models) if len(self.X_valids[k]) > start]
            xs = [self.X_valids[models[i]][start : start + per_call] for i in part]
            eps = [noises[i][start : start + per_call] for i in part]
            sizes = [len(v) for v in xs]
            width = max(sizes)
            sums = self._sum_loss_v(
                self._select([models[i] for i in part]),
                self._pad(xs, width),
                self._pad(eps, width),
                self._mask(sizes, width),
            )
            for i, value in zip(part, sums.tolist()):
                totals[i] += value
        self.template.train()
        return [t / len(self.X_valids[k]) for t, k in zip(totals, models)]

    def save_best(self, k: int) -> None:
        self._copy_row(self.params, self.best, k)

    def restore_best(self, k: int) -> None:
        self._copy_row(self.best, self.params, k)

    def slow_down(self, k: int) -> None:
        self.lr[k] *= 0.5
        for s in self.square_avg.values():
            s[k].zero_()  # == optimizer.state.clear(): RMSprop restarts from zeros

    def finish(self) -> None:
        with torch.no_grad():
            for k, vae in enumerate(self.vaes):
                for name, param in vae.named_parameters():
                    param.copy_(self.best[f"vae.{name}"][k])
                vae.eval()
