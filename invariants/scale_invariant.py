"""Scale-invariant losses, each computed twice: torch autograd and hand-written NumPy.

* :func:`bn_gradient_torch` / :func:`bn_gradient_numpy` — a tiny float64 network
  ``x → W (no bias) → batch norm (training mode, affine γ, β) → tanh → u → squared
  error``; its loss is invariant to ``W → cW`` (c > 0) exactly when batch norm's ε
  is 0 (paper 002 §3.4, Li & Arora 2019).
* :func:`sphere_gradient_torch` / :func:`sphere_gradient_numpy` — ``L(θ) = ½ θ̂ᵀ Q θ̂``
  with ``θ̂ = θ/‖θ‖`` over the whole tensor, or over each row (``rows=True``, one
  weight vector per output unit as ND-Adam reads it): invariant by construction.

The NumPy side derives the gradients by hand (batch-norm backward, quotient
rule), so the two sides share no code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class BatchNormNet:
    """Fixed data and parameters of the tiny network, everything but W."""

    x: np.ndarray  # (batch, d_in)
    y: np.ndarray  # (batch,)
    u: np.ndarray  # (hidden,)
    gamma: np.ndarray  # (hidden,) batch-norm scale
    beta: np.ndarray  # (hidden,) batch-norm shift
    eps: float  # batch-norm ε


def bn_gradient_torch(net: BatchNormNet, w: np.ndarray) -> np.ndarray:
    """∂L/∂W by torch autograd through batch norm in training mode (batch statistics)."""
    weight = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(net.x, dtype=torch.float64)
    z = x @ weight.T
    # Batch norm in training mode written out (torch's functional batch_norm rejects ε = 0,
    # the case the claim is about); autograd differentiates it.
    centred = z - z.mean(dim=0)
    xhat = centred / torch.sqrt((centred**2).mean(dim=0) + net.eps)
    gamma = torch.tensor(net.gamma, dtype=torch.float64)
    normed = gamma * xhat + torch.tensor(net.beta, dtype=torch.float64)
    out = torch.tanh(normed) @ torch.tensor(net.u, dtype=torch.float64)
    loss = torch.mean((out - torch.tensor(net.y, dtype=torch.float64)) ** 2)
    (grad,) = torch.autograd.grad(loss, weight)
    return grad.numpy().copy()


def bn_forward_numpy(net: BatchNormNet, w: np.ndarray) -> dict[str, np.ndarray]:
    """The forward pass, keeping what the backward pass and the error bounds need."""
    z = net.x @ w.T
    mu = z.mean(axis=0)
    centred = z - mu
    var = (centred**2).mean(axis=0)  # biased, as batch norm normalises in training mode
    s = np.sqrt(var + net.eps)
    xhat = centred / s
    h = np.tanh(net.gamma * xhat + net.beta)
    out = h @ net.u
    d_out = 2.0 * (out - net.y) / len(net.y)
    d_xhat = (d_out[:, None] * net.u[None, :]) * (1.0 - h**2) * net.gamma
    return {"z": z, "s": s, "xhat": xhat, "d_xhat": d_xhat}


def bn_gradient_numpy(net: BatchNormNet, w: np.ndarray) -> np.ndarray:
    """∂L/∂W by hand: dz = (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂))/s, dW = dzᵀ x."""
    f = bn_forward_numpy(net, w)
    d_xhat, xhat = f["d_xhat"], f["xhat"]
    dz = (d_xhat - d_xhat.mean(axis=0) - xhat * (d_xhat * xhat).mean(axis=0)) / f["s"]
    return dz.T @ net.x


def _flat(theta: np.ndarray, rows: bool) -> np.ndarray:
    return theta.reshape(theta.shape[0], -1) if rows else theta.reshape(1, -1)


def sphere_gradient_numpy(q: np.ndarray, theta: np.ndarray, rows: bool = False) -> np.ndarray:
    """∇ of ½ θ̂ᵀQθ̂: (Qθ̂ - (θ̂ᵀQθ̂) θ̂)/‖θ‖, per row when ``rows``."""
    flat = _flat(theta, rows)
    norms = np.sqrt(np.sum(flat * flat, axis=1, keepdims=True))
    unit = flat / norms
    qu = unit @ q.T
    grad = (qu - np.sum(unit * qu, axis=1, keepdims=True) * unit) / norms
    return grad.reshape(theta.shape)


def sphere_gradient_torch(q: np.ndarray, theta: np.ndarray, rows: bool = False) -> np.ndarray:
    """The same gradient by torch autograd."""
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    flat = t.reshape(t.shape[0], -1) if rows else t.reshape(1, -1)
    unit = flat / torch.linalg.vector_norm(flat, dim=1, keepdim=True)
    loss = 0.5 * torch.sum(unit * (unit @ torch.tensor(q, dtype=torch.float64).T))
    (grad,) = torch.autograd.grad(loss, t)
    return grad.numpy().copy()


def symmetric(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random symmetric matrix for the quadratic form."""
    a = rng.standard_normal((n, n))
    return (a + a.T) / 2.0
