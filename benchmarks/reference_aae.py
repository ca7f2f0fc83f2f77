"""The baseline of the speed suite: an adversarial autoencoder written the plain way.

This is how the paper's training (Makhzani et al., 2016, section 2) reads when
typed out directly, and how most public PyTorch AAEs are written: the paper's
MNIST networks (encoder 784-1000-1000-d, decoder d-1000-1000-784,
discriminator d-1000-1000-1, ReLU), a ``torch.utils.data.DataLoader`` over a
``TensorDataset``, float32, and per mini-batch three phases, each with its own
forward pass and its own default (non-fused) Adam optimiser:

1. reconstruction: encoder and decoder forward, BCE loss, backward, step the
   encoder's and the decoder's optimisers;
2. discriminator: encoder forward (codes detached), discriminator forward on
   prior draws and codes, backward, step the discriminator's optimiser;
3. generator: encoder forward again, discriminator forward, backward through
   both, step the encoder's generator optimiser.

It is not skaae and shares no code with it; ``benchmarks/speed.py`` times it
next to skaae on the same data in the same run. :func:`step_flops` counts the
floating-point work of one step of this loop.
"""

import itertools

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

HIDDEN = (1000, 1000)


def mlp(sizes):
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class ReferenceAAE:
    """The paper's networks and four Adam optimisers, as a plain implementation has them."""

    def __init__(self, n_features=784, n_components=2, hidden=HIDDEN, lr=1e-3, seed=0):
        torch.manual_seed(seed)
        self.encoder = mlp([n_features, *hidden, n_components])
        self.decoder = mlp([n_components, *hidden[::-1], n_features])
        self.discriminator = mlp([n_components, *hidden, 1])
        self.n_components = n_components
        self.encoder_optimizer = torch.optim.Adam(self.encoder.parameters(), lr=lr)
        self.decoder_optimizer = torch.optim.Adam(self.decoder.parameters(), lr=lr)
        self.generator_optimizer = torch.optim.Adam(self.encoder.parameters(), lr=lr)
        self.discriminator_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=lr)

    def train_step(self, x):
        """One mini-batch, three phases; returns the three losses as floats."""
        # 1. reconstruction
        self.encoder_optimizer.zero_grad()
        self.decoder_optimizer.zero_grad()
        logits = self.decoder(self.encoder(x))
        reconstruction = F.binary_cross_entropy_with_logits(logits, x)
        reconstruction.backward()
        self.encoder_optimizer.step()
        self.decoder_optimizer.step()

        # 2. discriminator: prior draws are real (1), codes are fake (0)
        self.discriminator_optimizer.zero_grad()
        fake = self.encoder(x).detach()
        real = torch.randn_like(fake)
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake)
        discrimination = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        discrimination.backward()
        self.discriminator_optimizer.step()

        # 3. generator: the encoder learns to fool the discriminator
        self.generator_optimizer.zero_grad()
        fake_logits = self.discriminator(self.encoder(x))
        fooling = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        fooling.backward()
        self.generator_optimizer.step()
        return reconstruction.item(), discrimination.item(), fooling.item()

    def loader(self, X, batch_size, seed=0):
        """A shuffling DataLoader over the float32 tensor ``X``."""
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(
            TensorDataset(X), batch_size=batch_size, shuffle=True, generator=generator
        )

    def train(self, X, batch_size, n_steps, seed=0):
        """Run ``n_steps`` steps (cycling over epochs); returns the last losses."""
        losses, done = None, 0
        while done < n_steps:
            for (x,) in self.loader(X, batch_size, seed + done):
                losses = self.train_step(x)
                done += 1
                if done == n_steps:
                    break
        return losses


def mlp_matmuls(sizes, rows, *, forward=True, weight_grad=False, first_input_grad=False):
    """The matrix products ``(m, k, n)`` of an MLP of widths ``sizes`` on ``rows`` rows.

    Each Linear layer computes ``x W^T`` forward (``rows x in x out``), and
    backward its weight gradient ``g^T x`` (``out x rows x in``) when
    ``weight_grad`` and its input gradient ``g W`` (``rows x out x in``) for
    every layer but the first, whose input gradient only when
    ``first_input_grad``. Bias and activation work (O(width)) is left out.
    """
    products = []
    backward = weight_grad or first_input_grad
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        if forward:
            products.append((rows, n_in, n_out))
        if weight_grad:
            products.append((n_out, rows, n_in))
        if backward and (i > 0 or first_input_grad):
            products.append((rows, n_out, n_in))
    return products


def step_flops(n_features=784, n_components=2, hidden=HIDDEN, loop="reference"):
    """Matmul FLOPs per training sample of one step of ``loop`` ("reference" or "skaae")."""
    return sum(phase_flops(n_features, n_components, hidden, loop).values())


def phase_flops(n_features=784, n_components=2, hidden=HIDDEN, loop="reference"):
    """Matmul FLOPs per training sample of each phase of one step of ``loop``.

    The products of :func:`phase_matmuls` for a batch of one sample, each
    ``2 m k n``.
    """
    return {
        phase: sum(2 * m * k * n for m, k, n in products)
        for phase, products in phase_matmuls(1, n_features, n_components, hidden, loop).items()
    }


def phase_matmuls(batch_size, n_features=784, n_components=2, hidden=HIDDEN, loop="reference"):
    """The matrix products ``(m, k, n)`` of each phase of one step of ``loop`` at ``batch_size``.

    A discriminator phase runs its network on two rows (a prior draw and a
    code) per sample.

    reference (this module):
      reconstruction  encoder+decoder forward, backward (weights, inner inputs)
      discriminator   encoder forward (a second time), discriminator forward and
                      backward (weights) on 2 rows per sample
      generator       encoder forward (a third time), discriminator forward,
                      backward through the discriminator (weights: its
                      parameters still require gradients, though no step uses
                      them, and inputs) and the encoder (weights, inner inputs)
    skaae (``AdversarialTrainer.train_batch``):
      reconstruction  as above
      discriminator   encoder forward once, shared with the generator phase;
                      discriminator forward and backward (weights) on 2 rows
      generator       discriminator forward, backward through it (inputs only:
                      it is frozen with ``requires_grad_(False)``) and the
                      encoder (weights, inner inputs)
    """
    if loop not in ("reference", "skaae"):
        raise ValueError(f"loop must be 'reference' or 'skaae', got {loop!r}")
    encoder = [n_features, *hidden, n_components]
    decoder = [n_components, *hidden[::-1], n_features]
    discriminator = [n_components, *hidden, 1]
    rows = batch_size
    encoder_forward = mlp_matmuls(encoder, rows)
    encoder_backward = mlp_matmuls(encoder, rows, forward=False, weight_grad=True)
    generator = (
        mlp_matmuls(discriminator, rows, weight_grad=loop == "reference", first_input_grad=True)
        + encoder_backward
    )
    return {
        "reconstruction": mlp_matmuls(encoder, rows, weight_grad=True)
        + mlp_matmuls(decoder, rows, weight_grad=True, first_input_grad=True),
        "discriminator": encoder_forward + mlp_matmuls(discriminator, 2 * rows, weight_grad=True),
        "generator": generator + (encoder_forward if loop == "reference" else []),
    }
