"""The paper's CNN classifier in plain torch."""

from __future__ import annotations

from torch import nn


class PaperCNN(nn.Module):
    """The CNN of Garay-Maestre et al. (2019), Table 1.

    Conv(c1, 3x3, same) -> Conv(c2, 3x3, same) -> MaxPool(2) -> Dropout ->
    Conv(c3, 3x3, same) -> Conv(c4, 3x3, same) -> MaxPool(2) -> Dropout ->
    Flatten -> FC(hidden) -> Dropout -> FC(n_classes), ReLU after every conv and
    the hidden layer. The paper uses ``channels=(64, 128, 128, 128)``,
    ``hidden=128`` and ``dropout=0.5``.

    Pooling rounds up (``ceil_mode=True``) so that any image size works: 28x28
    -> 14 -> 7 exactly as in the paper, 8x8 -> 4 -> 2, and even a 1xF "image".

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, H, W)`` of the input images.
    n_classes : int
        Number of outputs (logits).
    channels : tuple of 4 ints, default=(64, 128, 128, 128)
        Filters of the four convolutions.
    hidden : int, default=128
        Width of the hidden fully connected layer.
    dropout : float, default=0.5
        Dropout probability after each block and the hidden layer.

    Examples
    --------
    >>> import torch
    >>> from skvae.nn import PaperCNN
    >>> PaperCNN((1, 28, 28), 10)(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        n_classes: int,
        channels: tuple[int, int, int, int] = (64, 128, 128, 128),
        hidden: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        c, h, w = (int(s) for s in in_shape)
        c1, c2, c3, c4 = (int(k) for k in channels)
        # One flat Sequential, so the state-dict keys stay features.0 ... features.12.
        self.features = nn.Sequential(
            *_conv_block(c, c1, c2, dropout), *_conv_block(c2, c3, c4, dropout), nn.Flatten()
        )
        h2, w2 = _pooled(_pooled(h)), _pooled(_pooled(w))
        self.classifier = nn.Sequential(
            nn.Linear(c4 * h2 * w2, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, int(n_classes)),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def _conv_block(c_in: int, c_mid: int, c_out: int, dropout: float) -> list[nn.Module]:
    """Two 3x3 'same' convolutions with ReLU, 2x2 max pooling, dropout."""
    return [
        nn.Conv2d(c_in, c_mid, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c_mid, c_out, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.Dropout(dropout),
    ]


def _pooled(size: int) -> int:
    """Output size of MaxPool2d(2, ceil_mode=True)."""
    return max(1, -(-size // 2))
