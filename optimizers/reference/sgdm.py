"""SGD with momentum, as torch.optim.SGD defines it (docs/ALGORITHMS.md, "SGDM").

Not a method of the seed papers, but their common baseline (paper 000 §1,
paper 002 Tables 1-2, paper 004 eqs. 1-2 "heavy ball").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import ReferenceOptimizer, check_bool, check_lr, check_real, check_weight_decay


class SGDMReference(ReferenceOptimizer):
    """SGD with (optionally Nesterov) momentum, torch's convention.

    Per tensor::

        g   ← g + wd·θ                               (L2 weight decay)
        buf ← g                      on the first step
        buf ← μ·buf + (1-dampening)·g   afterwards
        d   ← g + μ·buf  (nesterov)  or  buf
        θ   ← θ - lr·d

    With ``momentum=0`` there is no buffer and the step is plain SGD.
    ``last``: "g" (after L2 decay), "m" (the momentum buffer, None without momentum).
    """

    LAST_KEYS = ("g", "m")

    def __init__(
        self,
        params: Sequence[np.ndarray],
        *,
        lr: float = 0.1,
        momentum: float = 0.9,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = check_lr("lr", lr)
        self.momentum = check_real("momentum", momentum, low=0.0)
        self.dampening = check_real("dampening", dampening, low=0.0, high=1.0)
        self.nesterov = check_bool("nesterov", nesterov)
        self.weight_decay = check_weight_decay(weight_decay)
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(
                "Invalid nesterov: Nesterov momentum requires momentum in (0, inf) "
                "and dampening == 0"
            )
        super().__init__(params)

    def _step(self, grads, active):
        for i in active:
            theta = self.params[i]
            st = self.state[i]
            st["step"] += 1
            g = grads[i] + self.weight_decay * theta if self.weight_decay else grads[i]
            if self.momentum != 0.0:
                if "momentum_buffer" not in st:
                    buf = g.copy()
                else:
                    buf = self.momentum * st["momentum_buffer"] + (1.0 - self.dampening) * g
                st["momentum_buffer"] = np.asarray(buf, dtype=np.float64)
                direction = g + self.momentum * buf if self.nesterov else buf
            else:
                buf = None
                direction = g
            self._set_param(i, theta - self.lr * direction)
            self._record(i, g=g, m=buf)
