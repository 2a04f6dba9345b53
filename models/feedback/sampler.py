"""The TypeScript core's samplers in PyTorch (core/src/samplers/sampler.ts): the same leading
timestep spacing, starting scale, Euler / Euler-ancestral / DDIM / DPM++(2M, Karras) updates and
guidance, so that what the stages train and select is what the core will run. Differentiable: a
stage can stop after any step and take the one-step x0 prediction with gradients.
"""
import math

import numpy as np
import torch

SCHEDULERS = ("euler-a", "euler", "ddim", "dpmpp-2m")


class Schedule:
    def __init__(self, train_steps=1000, beta_start=0.00085, beta_end=0.012):
        b = np.linspace(beta_start ** 0.5, beta_end ** 0.5, train_steps, dtype=np.float64) ** 2
        self.ac = np.cumprod(1 - b)
        self.sigmas = np.sqrt((1 - self.ac) / self.ac)
        self.n = train_steps

    def leading(self, steps):
        ratio = self.n // steps
        return [(steps - 1 - i) * ratio + 1 for i in range(steps)]

    def sigma_to_t(self, s):
        ls = math.log(max(s, 1e-10))
        logs = np.log(self.sigmas)
        if ls <= logs[0]:
            return 0.0
        if ls >= logs[-1]:
            return float(self.n - 1)
        lo = int(np.searchsorted(logs, ls) - 1)
        return lo + (ls - logs[lo]) / (logs[lo + 1] - logs[lo])

    def levels(self, scheduler, steps):
        """[(t, alpha_bar, sigma)] before each step, plus the final level, as the core builds them."""
        if scheduler in ("euler", "euler-a"):
            lv = [(t, 1 / (1 + self.sigmas[t] ** 2), self.sigmas[t]) for t in self.leading(steps)]
            return lv + [(-1, 1.0, 0.0)]
        if scheduler == "ddim":
            lv = [(t, self.ac[t], math.sqrt((1 - self.ac[t]) / self.ac[t])) for t in self.leading(steps)]
            return lv + [(-1, self.ac[0], math.sqrt((1 - self.ac[0]) / self.ac[0]))]
        if scheduler == "dpmpp-2m":
            smin, smax, rho = self.sigmas[0], self.sigmas[-1], 7.0
            r = np.linspace(0, 1, steps)
            ks = (smax ** (1 / rho) + r * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
            return [(self.sigma_to_t(s), 1 / (1 + s * s), s) for s in ks] + [(-1, 1.0, 0.0)]
        raise ValueError(f"unknown scheduler {scheduler}; use one of {', '.join(SCHEDULERS)}")


def x0_eps(prediction, xvp, out, ab):
    a, s = math.sqrt(ab), math.sqrt(1 - ab)
    if prediction == "epsilon":
        return (xvp - s * out) / a, out
    return a * xvp - s * out, s * xvp + a * out


class Sampler:
    """One trajectory batch. `space` as in the core: 've' keeps x = x_vp * sqrt(1 + sigma^2)."""

    def __init__(self, schedule, scheduler, steps, prediction="epsilon"):
        self.name, self.steps, self.prediction = scheduler, steps, prediction
        self.lv = schedule.levels(scheduler, steps)
        self.space = "vp" if scheduler == "ddim" else "ve"
        self.prev = None

    def timestep(self, i):
        return int(round(self.lv[i][0]))

    def initial(self, noise):
        s = self.lv[0][2]
        return noise * (math.sqrt(s * s + 1) if self.space == "ve" else 1.0)

    def noise_to(self, clean, noise, i):
        _, ab, s = self.lv[i]
        return clean + s * noise if self.space == "ve" else math.sqrt(ab) * clean + math.sqrt(1 - ab) * noise

    def model_input(self, x, i):
        return x if self.space == "vp" else x / math.sqrt(self.lv[i][2] ** 2 + 1)

    def predict(self, x, i, out):
        return x0_eps(self.prediction, self.model_input(x, i), out, self.lv[i][1])

    def step(self, x, i, out, g=None):
        """(next x, x0); g: torch.Generator for ancestral noise."""
        x0, eps = self.predict(x, i, out)
        _, _, s = self.lv[i]
        _, abn, sn = self.lv[i + 1]
        if self.name == "ddim":
            return math.sqrt(abn) * x0 + math.sqrt(1 - abn) * eps, x0
        if self.name in ("euler", "euler-a"):
            down, up = sn, 0.0
            if self.name == "euler-a" and sn > 0:
                up = math.sqrt(sn * sn * (s * s - sn * sn) / (s * s))
                down = math.sqrt(sn * sn - up * up)
            nxt = x + (x - x0) / s * (down - s)
            if up > 0:
                nxt = nxt + torch.randn(x.shape, generator=g).to(x.device) * up
            return nxt, x0
        # dpmpp-2m
        if sn == 0:
            nxt = x0
        else:
            t, tn = -math.log(s), -math.log(sn)
            h = tn - t
            d = x0
            if self.prev is not None and i > 0:
                r = (t + math.log(self.lv[i - 1][2])) / h
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * self.prev
            nxt = (sn / s) * x + (-math.expm1(-h)) * d
        self.prev = x0.detach()
        return nxt, x0


def guided(bb, un, x_in, t, ctx_u, ctx_c, ml, zm, guidance):
    """One guided UNet call on model input x_in (the core's batch-2 call: uncond, cond)."""
    n = x_in.shape[0]
    sample = torch.cat([x_in, ml, zm], 1).repeat(2, 1, 1, 1)
    ts = torch.full((2 * n,), int(t), dtype=torch.long, device=x_in.device)
    out = bb.unet(un, sample, ts, torch.cat([ctx_u, ctx_c], 0))
    u, c = out[:n], out[n:]
    return u + guidance * (c - u)


def sample(bb, un, b, scheduler, steps, guidance, g, stop_at=None, x=None, ctx=None):
    """Runs the sampler from pure noise; returns x after `stop_at` steps (all steps when None)
    and the sampler (so a caller can take the next step with gradients)."""
    sp = Sampler(Schedule(1000, *bb.betas), scheduler, steps, bb.prediction)
    if ctx is None:
        ctx = (bb.text([""] * b["n"]), bb.text(b["prompts"]))
    if x is None:
        x = sp.initial(torch.randn(b["z0"].shape, generator=g).to(b["z0"].device))
    for i in range(steps if stop_at is None else stop_at):
        out = guided(bb, un, sp.model_input(x, i), sp.timestep(i), ctx[0], ctx[1], b["ml"], b["zm"], guidance)
        x, _ = sp.step(x, i, out, g)
    return x, sp, ctx
