"""Chapter 7's catalogue: the mistakes real learners make in "Colour images and training that stays stable".

Each :class:`~grader.catalogue.Wrong` is a learner's cell with the hint its verdict must give; each
:class:`~grader.catalogue.Right` a correct answer written otherwise than the solution. ``stable_cnn``'s
entries are also what ``benchmarks/seeds.py`` trains over many seeds to place the accuracy bar.
"""

from __future__ import annotations

from functools import lru_cache

from grader.catalogue import Claim, Right, Wrong

# -- to_channels -------------------------------------------------------------------------------------------

_TC = "to_channels"

WRONG = [
    Wrong(_TC, "no division by 255", """
def to_channels(img):
    return torch.from_numpy(img).permute(2, 0, 1).float()
""", "divide by 255 to get intensities", concept="values left 0 to 255"),
    Wrong(_TC, "divided by 256", """
def to_channels(img):
    return torch.from_numpy(img).permute(2, 0, 1).float() / 256
""", "not by 256", concept="wrong scale"),
    Wrong(_TC, "reshape instead of permute", """
def to_channels(img):
    h, w, c = img.shape
    return torch.from_numpy(img).float().reshape(c, h, w) / 255
""", "reshape keeps the numbers in memory order", concept="reshape for a transpose"),
    Wrong(_TC, "permute(2, 1, 0) swaps height and width", """
def to_channels(img):
    return torch.from_numpy(img).permute(2, 1, 0).float() / 255
""", "permute(2, 1, 0) swaps height and width", concept="wrong axis order"),
    Wrong(_TC, "numpy's .T (reverses every axis)", """
def to_channels(img):
    return torch.from_numpy(img.T.copy()).float() / 255
""", "permute(2, 1, 0) swaps height and width", concept="wrong axis order"),
    Wrong(_TC, "divided by the image's own maximum", """
def to_channels(img):
    x = torch.from_numpy(img).permute(2, 0, 1).float()
    return x / x.max()
""", "not by this image's own maximum", concept="scale taken from the data"),
    Wrong(_TC, "min-max scaling per image", """
def to_channels(img):
    x = torch.from_numpy(img).permute(2, 0, 1).float()
    return (x - x.min()) / (x.max() - x.min())
""", "stretching each image from its own minimum", concept="scale taken from the data"),
    Wrong(_TC, "float64 from NumPy's division", """
def to_channels(img):
    return torch.from_numpy(img / 255.0).permute(2, 0, 1)
""", "gives float64", concept="wrong dtype"),
    Wrong(_TC, "floor division by 255", """
def to_channels(img):
    return torch.from_numpy(img).permute(2, 0, 1) // 255
""", "// is floor division", concept="/ and //"),
    Wrong(_TC, "returns a NumPy array", """
def to_channels(img):
    return np.transpose(img, (2, 0, 1)).astype(np.float32) / 255
""", "torch.from_numpy(img) turns the array into a tensor", concept="NumPy instead of torch"),
    Wrong(_TC, "the course's own conversion as the answer", """
from helpers.photos import chw as to_channels
""", "write to_channels yourself", concept="the course's helper as the answer"),
    Wrong(_TC, "a wrapper around the course's own conversion", """
from helpers.photos import chw

def to_channels(img):
    return chw(img)
""", "write to_channels yourself", concept="the course's helper as the answer"),
]

RIGHT = [
    Right(_TC, "NumPy transpose, then a float32 tensor", """
def to_channels(img):
    return torch.tensor(np.transpose(img, (2, 0, 1)), dtype=torch.float32) / 255.0
"""),
    Right(_TC, "float32 in NumPy first, permute after", """
def to_channels(img):
    return torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)
"""),
    Right(_TC, "float64 arithmetic, converted at the end, contiguous", """
def to_channels(img):
    return (torch.from_numpy(img).double() / 255).movedim(-1, 0).contiguous().float()
"""),
]

# -- rgb_kernel --------------------------------------------------------------------------------------------

_RK = "rgb_kernel"

WRONG += [
    Wrong(_RK, "the same kernel in all three channels", """
def rgb_kernel(kernel, mix):
    return kernel.repeat(1, 3, 1, 1)
""", "scale the kernel of channel c by mix[c]", concept="mix ignored"),
    Wrong(_RK, "[3, 1, k, k]: in and out swapped", """
def rgb_kernel(kernel, mix):
    return (mix[:, None, None] * kernel)[:, None]
""", "not [3, 1, k, k]", concept="[in, out, k, k] instead of [out, in, k, k]"),
    Wrong(_RK, "no output axis", """
def rgb_kernel(kernel, mix):
    return mix[:, None, None] * kernel
""", "keep the output axis in front", concept="missing axis"),
    Wrong(_RK, "mix divided by 3", """
def rgb_kernel(kernel, mix):
    return (mix[:, None, None] * kernel / 3)[None]
""", "not divided by 3", concept="averaging the channels"),
    Wrong(_RK, "LUMA hard-coded", """
from helpers.photos import LUMA

def rgb_kernel(kernel, mix):
    return (torch.tensor(LUMA)[:, None, None] * kernel)[None]
""", "use the mix you are given", concept="argument ignored"),
    Wrong(_RK, "kernel flipped", """
def rgb_kernel(kernel, mix):
    return (mix[:, None, None] * kernel.flip(0).flip(1))[None]
""", "does not flip the kernel", concept="a flipped kernel"),
    Wrong(_RK, "kernel transposed", """
def rgb_kernel(kernel, mix):
    return torch.stack([m * kernel.T for m in mix])[None]
""", "kernel.T swaps", concept="transposed kernel"),
    Wrong(_RK, "mix normalised to sum 1", """
def rgb_kernel(kernel, mix):
    mix = mix / mix.sum()
    return (mix[:, None, None] * kernel)[None]
""", "dividing it by its sum", concept="wrong scale"),
]

RIGHT += [
    Right(_RK, "a loop over the channels", """
def rgb_kernel(kernel, mix):
    w = torch.empty(1, 3, *kernel.shape)
    for c in range(3):
        w[0, c] = kernel * float(mix[c])
    return w
"""),
    Right(_RK, "einsum", """
def rgb_kernel(kernel, mix):
    return torch.einsum("c,ij->cij", mix, kernel).unsqueeze(0)
"""),
    Right(_RK, "broadcast with view", """
def rgb_kernel(kernel, mix):
    return kernel.view(1, 1, *kernel.shape) * mix.view(1, 3, 1, 1)
"""),
]

# -- batchnorm_forward -------------------------------------------------------------------------------------

_BN = "batchnorm_forward"

#: A learner's batch norm with one switch per mistake (``{}`` for the right answer).
_BN_CODE = """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    W = {wrong}
    momentum = W.get("momentum", momentum)
    eps = W.get("eps", eps)
    dims = W.get("dims", (0, 2, 3))
    if training or W.get("batch_in_eval"):
        mean = x.mean(dim=dims, keepdim=True)
        var = x.var(dim=dims, keepdim=True, unbiased=W.get("unbiased_norm", False))
    else:
        mean, var = running_mean.view(1, -1, 1, 1), running_var.view(1, -1, 1, 1)
    if W.get("eps_outside"):
        x_hat = (x - mean) / (var.sqrt() + eps)
    else:
        x_hat = (x - mean) / (var + eps).sqrt()
    g, b = (beta, gamma) if W.get("swap_affine") else (gamma, beta)
    out = x_hat if W.get("no_affine") else x_hat * g.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)
    if (training or W.get("update_in_eval")) and not W.get("no_update"):
        batch_mean = x.mean(dim=(0, 2, 3))
        batch_var = x.var(dim=(0, 2, 3), unbiased=not W.get("biased_running"))
        if W.get("twice"):
            n = x.numel() // x.shape[1]
            batch_var = batch_var * n / (n - 1)
        keep = momentum if W.get("swapped") else 1 - momentum
        running_mean = keep * running_mean + (1 - keep) * batch_mean
        running_var = keep * running_var + (1 - keep) * batch_var
    return out, running_mean, running_var
"""


def _bn(mistake: str, wrong: dict, hint: str, concept: str | None = None) -> Wrong:
    return Wrong(_BN, mistake, _BN_CODE.format(wrong=repr(wrong)), hint, concept=concept)


WRONG += [
    _bn("normalised with the unbiased variance (n - 1)", {"unbiased_norm": True},
        "normalise with the biased variance", "biased and unbiased variance"),
    _bn("running variance from the biased variance", {"biased_running": True},
        "running variance with the *unbiased*", "biased and unbiased variance"),
    _bn("x.var() (unbiased) times n / (n - 1) again", {"twice": True}, "corrects it twice",
        "biased and unbiased variance"),
    _bn("unbiased everywhere, corrected twice for the running variance", {"unbiased_norm": True, "twice": True},
        "x.var() divides by n - 1 unless told otherwise", "biased and unbiased variance"),
    _bn("running statistics updated in evaluation mode", {"update_in_eval": True},
        "update them only in training", "evaluation mode"),
    _bn("batch statistics in evaluation mode", {"batch_in_eval": True}, "not with the batch's own",
        "evaluation mode"),
    _bn("evaluation mode treated as training", {"batch_in_eval": True, "update_in_eval": True},
        "for training only", "evaluation mode"),
    _bn("momentum weights the old value", {"swapped": True}, "weight of the *new* batch statistic", "momentum"),
    _bn("momentum hard-coded to 0.1", {"momentum": 0.1}, "the momentum you are given", "argument ignored"),
    _bn("eps hard-coded to 1e-5", {"eps": 1e-5}, "the eps you are given", "argument ignored"),
    _bn("no eps", {"eps": 0.0}, "without it a constant channel divides by zero", "eps"),
    _bn("eps outside the square root", {"eps_outside": True}, "inside the square root", "eps"),
    _bn("statistics per image (over C, H, W)", {"dims": (1, 2, 3)}, "per channel, over the batch",
        "wrong axis"),
    _bn("statistics over the batch only (per pixel)", {"dims": (0,)}, "a mean per pixel", "wrong axis"),
    _bn("statistics per image and channel (instance norm)", {"dims": (2, 3)}, "instance normalisation",
        "wrong axis"),
    _bn("running statistics not updated in training", {"no_update": True},
        "return the running statistics updated", "running statistics"),
    _bn("gamma and beta swapped", {"swap_affine": True}, "gamma is the scale and beta the shift", "affine"),
    _bn("no gamma and beta", {"no_affine": True}, "scale by gamma and shift by beta", "affine"),
    Wrong(_BN, "F.batch_norm (the shortcut the exercise forbids)", """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    rm, rv = running_mean.clone(), running_var.clone()
    out = F.batch_norm(x, rm, rv, gamma, beta, training, momentum, eps)
    return out, rm, rv
""", "compute the mean and variance yourself", concept="shortcut the exercise forbids"),
    Wrong(_BN, "nn.BatchNorm2d (the shortcut the exercise forbids)", """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    layer = nn.BatchNorm2d(x.shape[1], eps=eps, momentum=momentum)
    layer.load_state_dict({"weight": gamma, "bias": beta, "running_mean": running_mean.clone(),
                           "running_var": running_var.clone(), "num_batches_tracked": torch.tensor(0)})
    layer.train(training)
    return layer(x).detach(), layer.running_mean, layer.running_var
""", "compute the mean and variance yourself", concept="shortcut the exercise forbids"),
    Wrong(_BN, "returns only the output", """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3), keepdim=True) if training else running_mean.view(1, -1, 1, 1)
    var = x.var(dim=(0, 2, 3), keepdim=True, unbiased=False) if training else running_var.view(1, -1, 1, 1)
    return (x - mean) / (var + eps).sqrt() * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)
""", None, concept="wrong return type"),
]

RIGHT += [
    Right(_BN, "the switches all off (keepdim and view)", _BN_CODE.format(wrong="{}")),
    Right(_BN, "a loop over the channels", """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    out = torch.empty_like(x)
    new_mean, new_var = running_mean.clone(), running_var.clone()
    for c in range(x.shape[1]):
        values = x[:, c]
        if training:
            n = values.numel()
            mean = values.sum() / n
            var = ((values - mean) ** 2).sum() / n
            new_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean
            new_var[c] = (1 - momentum) * running_var[c] + momentum * var * n / max(n - 1, 1)
        else:
            mean, var = running_mean[c], running_var[c]
        out[:, c] = (values - mean) / torch.sqrt(var + eps) * gamma[c] + beta[c]
    return out, new_mean, new_var
"""),
    Right(_BN, "the variance as E[x^2] - E[x]^2 in float64, torch.lerp for the update", """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    c = lambda t: t[None, :, None, None]
    if training:
        xd = x.double()
        n = x.numel() // x.shape[1]
        mean = xd.mean(dim=(0, 2, 3))
        var = (xd ** 2).mean(dim=(0, 2, 3)) - mean ** 2
        running_mean = torch.lerp(running_mean, mean.float(), momentum)
        running_var = torch.lerp(running_var, (var * n / (n - 1)).float(), momentum)
        mean, var = mean.float(), var.float()
    else:
        mean, var = running_mean, running_var
    return c(gamma) * (x - c(mean)) * torch.rsqrt(c(var) + eps) + c(beta), running_mean, running_var
"""),
]

# -- activation_stats --------------------------------------------------------------------------------------

_AS = "activation_stats"

#: A learner's activation_stats with one switch per mistake.
_AS_CODE = """
def activation_stats(model, batch):
    W = {wrong}
    rows, handles = [], []

    def record(module, inputs, output):
        a = inputs[0] if W.get("inputs") else output
        zero = (a == 0) if W.get("exact_zero") else (a.abs() < 0.01)
        share = zero.float().mean() * (100 if W.get("percent") else 1)
        rows.append(torch.stack([a.mean(), a.std(unbiased=not W.get("biased_std")), share]))

    found = model.children() if W.get("children") else model.modules()
    kind = nn.Conv2d if W.get("convs") else nn.ReLU
    handles = [m.register_forward_hook(record) for m in found if isinstance(m, kind)]
    if W.get("eval"):
        model.eval()
    if W.get("train"):
        model.train()
    if W.get("after"):
        with torch.no_grad():
            model(batch)
        for h in handles:
            h.remove()
    else:
        try:
            with torch.no_grad():
                model(batch)
        finally:
            if not W.get("keep"):
                for h in handles:
                    h.remove()
    return torch.stack(rows)
"""


def _as(mistake: str, wrong: dict, hint: str, concept: str | None = None) -> Wrong:
    return Wrong(_AS, mistake, _AS_CODE.format(wrong=repr(wrong)), hint, concept=concept)


WRONG += [
    _as("model.children() misses nested ReLUs", {"children": True}, "walks nested blocks", "nested modules"),
    _as("hooks on the convolutions", {"convs": True}, "before the ReLU: hook the nn.ReLU layers",
        "wrong layer hooked"),
    _as("the ReLU's input (pre-hook view)", {"inputs": True}, "a forward pre-hook sees the ReLU's input",
        "wrong layer hooked"),
    _as("share of exact zeros", {"exact_zero": True}, "not exactly 0", "threshold"),
    _as("share as a percentage", {"percent": True}, "not a percentage", "wrong scale"),
    _as("biased std", {"biased_std": True}, "divides by n - 1 (unbiased)", "biased and unbiased variance"),
    _as("hooks never removed", {"keep": True}, "the hooks stay on the model", "hooks left behind"),
    _as("hooks removed after the forward pass, not in finally", {"after": True},
        "remove the hooks in a finally: block", "hooks left behind"),
    _as("model.eval() inside", {"eval": True}, "do not call model.eval()", "eval() in the wrong place"),
    _as("model.train() inside", {"train": True}, "do not call model.train()", "train() in the wrong place"),
    Wrong(_AS, "eval() for the statistics, the mode restored after", """
def activation_stats(model, batch):
    rows = []
    was_training = model.training
    hook = lambda m, i, out: rows.append(torch.stack([out.mean(), out.std(), (out.abs() < 0.01).float().mean()]))
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    model.eval()
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return torch.stack(rows)
""", "still takes the statistics in the wrong mode", concept="eval() in the wrong place"),
]

RIGHT += [
    Right(_AS, "the switches all off", _AS_CODE.format(wrong="{}")),
    Right(_AS, "forward pre-hooks with the ReLU applied by hand", """
def activation_stats(model, batch):
    rows, handles = [], []

    def before(module, inputs):
        a = F.relu(inputs[0])
        rows.append([a.mean().item(), a.std().item(), (a.abs() < 0.01).double().mean().item()])

    for m in model.modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_pre_hook(before))
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for h in handles:
            h.remove()
    return torch.tensor(rows)
"""),
    Right(_AS, "contextlib.ExitStack, statistics in float64", """
import contextlib

def activation_stats(model, batch):
    rows = []

    def record(module, inputs, output):
        a = output.double()
        rows.append(torch.stack([a.mean(), a.std(), (a.abs() < 0.01).double().mean()]))

    with contextlib.ExitStack() as stack:
        for m in model.modules():
            if isinstance(m, nn.ReLU):
                stack.callback(m.register_forward_hook(record).remove)
        with torch.no_grad():
            model(batch)
    return torch.stack(rows).float()
"""),
]

# -- onecycle_lr -------------------------------------------------------------------------------------------

_LR = "onecycle_lr"

_LR_CODE = """
def onecycle_lr(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    W = {wrong}
    initial = max_lr / div_factor
    final = (max_lr if W.get("end_at_max") else initial) / final_div_factor
    peak = {peak}
    last = total_steps if W.get("last_is_total") else total_steps - 1
    if step <= peak:
        start, end, t = initial, max_lr, step / peak
    else:
        start, end, t = max_lr, final, (step - peak) / (last - peak)
    if W.get("whole_run"):
        t = step / (total_steps - 1)
    if W.get("linear"):
        return start + (end - start) * t
    if W.get("flipped"):
        return end + (start - end) * (1 - math.cos(math.pi * t)) / 2
    return end + (start - end) * (1 + math.cos(math.pi * t)) / 2
"""


def _lr(mistake: str, wrong: dict, hint: str, peak: str = "pct_start * total_steps - 1",
        concept: str | None = None) -> Wrong:
    return Wrong(_LR, mistake, _LR_CODE.format(wrong=repr(wrong), peak=peak), hint, concept=concept)


WRONG += [
    _lr("straight lines instead of half cosines", {"linear": True}, "half a cosine", concept="wrong curve"),
    _lr("ends at max_lr / final_div_factor", {"end_at_max": True}, "the *initial* one divided",
        concept="wrong end value"),
    _lr("peak at pct_start * total_steps (counting from 1)", {}, "count from 0",
        peak="pct_start * total_steps", concept="off by one"),
    _lr("peak rounded to a whole step", {}, "do not round it", peak="round(pct_start * total_steps) - 1",
        concept="rounding"),
    _lr("peak at pct_start * (total_steps - 1)", {}, "not of total_steps - 1",
        peak="pct_start * (total_steps - 1)", concept="off by one"),
    _lr("annealing ends at total_steps", {"last_is_total": True}, "the last step is total_steps - 1",
        concept="off by one"),
    _lr("t measured over the whole run", {"whole_run": True}, "the fraction of the current phase",
        concept="wrong fraction"),
    _lr("cosine the wrong way round", {"flipped": True}, "goes from 1 down to 0", concept="wrong curve"),
    Wrong(_LR, "returns a string", """
def onecycle_lr(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    peak = pct_start * total_steps - 1
    lo, hi = max_lr / div_factor, max_lr
    if step <= peak:
        t, a, b = step / peak, lo, hi
    else:
        t, a, b = (step - peak) / (total_steps - 1 - peak), hi, lo / final_div_factor
    return f"{b + (a - b) * (1 + math.cos(math.pi * t)) / 2:.6f}"
""", None, concept="wrong return type"),
]

RIGHT += [
    Right(_LR, "np.cos (a numpy.float64)", """
def onecycle_lr(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    initial = max_lr / div_factor
    peak = pct_start * total_steps - 1
    if step <= peak:
        a, b, t = initial, max_lr, step / peak
    else:
        a, b, t = max_lr, initial / final_div_factor, (step - peak) / (total_steps - 1 - peak)
    return b + (a - b) * (1 + np.cos(np.pi * t)) / 2
"""),
    Right(_LR, "a loop over two phases", """
def onecycle_lr(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    low = max_lr / div_factor
    phases = [(0.0, pct_start * total_steps - 1, low, max_lr),
              (pct_start * total_steps - 1, total_steps - 1, max_lr, low / final_div_factor)]
    for begin, end, a, b in phases:
        if step <= end or end == phases[-1][1]:
            frac = (step - begin) / (end - begin)
            return b + (a - b) * (math.cos(math.pi * frac) + 1) / 2
"""),
    Right(_LR, "the cosine as sin squared, a 0-d tensor returned", """
def onecycle_lr(step, total_steps, max_lr, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    peak = pct_start * total_steps - 1
    start = max_lr / div_factor
    if step <= peak:
        lo, hi, t = start, max_lr, step / peak
        return torch.tensor(lo + (hi - lo) * math.sin(math.pi * t / 2) ** 2, dtype=torch.float64)
    hi, lo, t = max_lr, start / final_div_factor, (step - peak) / (total_steps - 1 - peak)
    return torch.tensor(lo + (hi - lo) * math.cos(math.pi * t / 2) ** 2, dtype=torch.float64)
"""),
]

# -- stable_cnn --------------------------------------------------------------------------------------------

_SC = "stable_cnn"

_HEAD = """
from helpers.models import conv

def hidden():
    return [conv(1, 8, bn=True), conv(8, 16, bn=True), conv(16, 32, bn=True), conv(32, 64, bn=True)]
"""

WRONG += [
    Wrong(_SC, "no batch norm (the baseline digit_cnn)", """
from helpers.models import conv

def stable_cnn():
    return nn.Sequential(conv(1, 8), conv(8, 16), conv(16, 32), conv(32, 64), conv(64, 10, act=False),
                         nn.Flatten())
""", "without batch normalisation a deep CNN learns slowly", concept="no batch norm"),
    Wrong(_SC, "a final ReLU", _HEAD + """
def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10), nn.Flatten())
""", "a ReLU after the output layer", concept="squashed scores"),
    Wrong(_SC, "a softmax at the end (a double softmax with the loss)", _HEAD + """
def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten(), nn.Softmax(dim=1))
""", "a softmax at the end is a second one", concept="squashed scores"),
    Wrong(_SC, "softmax applied twice", _HEAD + """
class Probabilities(nn.Module):
    def forward(self, x):
        return F.softmax(F.softmax(x, dim=1), dim=1)

def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten(), Probabilities())
""", "two softmaxes at the end", concept="squashed scores"),
    Wrong(_SC, "a sigmoid output", _HEAD + """
def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten(), nn.Sigmoid())
""", "a sigmoid squeezes each score", concept="squashed scores"),
    Wrong(_SC, "log-softmax output", _HEAD + """
def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten(), nn.LogSoftmax(dim=1))
""", "raw scores (logits), not log-probabilities", concept="squashed scores"),
    Wrong(_SC, "batch norm and ReLU after the last layer", _HEAD + """
def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10, bn=True), nn.Flatten())
""", "batch norm belongs to the hidden layers", concept="squashed scores"),
    Wrong(_SC, "batch norm after the last layer, no ReLU", _HEAD + """
def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10, bn=True, act=False), nn.Flatten())
""", "batch norm belongs to the hidden layers", concept="squashed scores"),
    Wrong(_SC, "one shared model returned by every call", _HEAD + """
model = nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten())

def stable_cnn():
    return model
""", "a model made once outside the function is the same object", concept="a factory that returns one object"),
    Wrong(_SC, "a copy of one model (same weights whatever the seed)", _HEAD + """
import copy

template = nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten())

def stable_cnn():
    return copy.deepcopy(template)
""", "without copying one model", concept="a factory that returns one object"),
    Wrong(_SC, "torch.manual_seed inside the function", _HEAD + """
def stable_cnn():
    torch.manual_seed(42)
    return nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten())
""", "without torch.manual_seed inside it", concept="a factory that returns one object"),
    Wrong(_SC, "no ReLU anywhere (a linear model)", """
def stable_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64),
        nn.Conv2d(64, 10, 3, stride=2, padding=1), nn.Flatten())
""", "stacked layers collapse into a single linear map", concept="a model that is linear"),
    Wrong(_SC, "a model instead of a function", _HEAD + """
stable_cnn = nn.Sequential(*hidden(), conv(64, 10, act=False), nn.Flatten())
""", "builds a new model each time it is called", concept="a factory that returns one object"),
    Wrong(_SC, "too big: a linear layer on 28x28 maps", """
def stable_cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.Flatten(),
                         nn.Linear(32 * 28 * 28, 10))
""", "a linear layer on large maps has the most weights", concept="parameter cap"),
    Wrong(_SC, "two outputs, as chapter 4's", _HEAD + """
def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 2, act=False), nn.Flatten())
""", "ten digits need ten scores", concept="wrong output size"),
    Wrong(_SC, "squeeze instead of Flatten", _HEAD + """
class Squeeze(nn.Module):
    def forward(self, x):
        return x.squeeze()

def stable_cnn():
    return nn.Sequential(*hidden(), conv(64, 10, act=False), Squeeze())
""", "the batch axis of a batch of one too", concept="wrong axis"),
    Wrong(_SC, "no convolution (an MLP)", """
def stable_cnn():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 10))
""", None, concept="not a CNN"),
]

RIGHT += [
    Right(_SC, "stride-1 convolutions, max pooling, batch norm and a linear head", """
def stable_cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 49, 10))
"""),
    Right(_SC, "the course's digit_cnn with batch norm", """
from helpers.stability import digit_cnn

def stable_cnn():
    return digit_cnn(bn=True)
"""),
    Right(_SC, "a module class with a linear head, the scores from forward()", """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        def block(ni, nf):
            return nn.Sequential(nn.Conv2d(ni, nf, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(nf), nn.ReLU())
        self.body = nn.Sequential(block(1, 16), block(16, 32), block(32, 64))
        self.head = nn.Linear(64 * 4 * 4, 10)

    def forward(self, x):
        return self.head(self.body(x).flatten(1))

def stable_cnn():
    return Net()
"""),
]

# -- review quiz -------------------------------------------------------------------------------------------

_Q1, _Q2, _Q3 = "quiz_rgb_weight_shape", "quiz_bn_params", "quiz_peak_step"

WRONG += [
    Wrong(_Q1, "in and out swapped", "quiz_rgb_weight_shape = (3, 16, 5, 5)", "the output channels come first",
          concept="[in, out, k, k] instead of [out, in, k, k]"),
    Wrong(_Q1, "no input-channel axis", "quiz_rgb_weight_shape = (16, 5, 5)", "an axis for the input channels",
          concept="missing axis"),
    Wrong(_Q1, "Keras's layout", "quiz_rgb_weight_shape = (5, 5, 3, 16)", "Keras and TensorFlow",
          concept="channels last"),
    Wrong(_Q1, "channels after the kernel", "quiz_rgb_weight_shape = (16, 5, 5, 3)", "not [out, k, k, in]",
          concept="channels last"),
    Wrong(_Q1, "a batch axis", "quiz_rgb_weight_shape = (1, 16, 3, 5, 5)", "no batch axis", concept="extra axis"),
    Wrong(_Q1, "the bias's shape", "quiz_rgb_weight_shape = (16,)", "the shape of the bias",
          concept="weight and bias"),
    Wrong(_Q1, "a list", "quiz_rgb_weight_shape = [16, 3, 5, 5]", "round brackets", concept="wrong type"),
    Wrong(_Q2, "buffers counted", "quiz_bn_params = 128", "buffers, not parameters", concept="buffers and parameters"),
    Wrong(_Q2, "the state_dict counted", "quiz_bn_params = 129", "the state_dict holds the buffers too",
          concept="buffers and parameters"),
    Wrong(_Q2, "tensors counted", "quiz_bn_params = 2", "not the parameter tensors", concept="numel"),
    Wrong(_Q2, "only gamma", "quiz_bn_params = 32", "a shift (beta", concept="gamma and beta"),
    Wrong(_Q2, "nothing learned", "quiz_bn_params = 0", "batch norm does learn something", concept="gamma and beta"),
    Wrong(_Q2, "a float", "quiz_bn_params = 64.0", "a count is a whole number", concept="wrong type"),
    Wrong(_Q3, "counted from 1", "quiz_peak_step = 50", "steps count from 0", concept="off by one"),
    Wrong(_Q3, "the default pct_start", "quiz_peak_step = 59", "0.3 is only OneCycleLR's default",
          concept="argument ignored"),
    Wrong(_Q3, "the default pct_start, counted from 1", "quiz_peak_step = 60", "0.3 is only the default",
          concept="argument ignored"),
    Wrong(_Q3, "the middle", "quiz_peak_step = 99", "the peak is not in the middle", concept="schedule shape"),
    Wrong(_Q3, "the first step", "quiz_peak_step = 0", "1cycle starts low", concept="schedule shape"),
    Wrong(_Q3, "the last step", "quiz_peak_step = 199", "1cycle ends low", concept="schedule shape"),
    Wrong(_Q3, "counted from the end", "quiz_peak_step = 149", "counted from the start", concept="schedule shape"),
    Wrong(_Q3, "a float", "quiz_peak_step = 49.0", "a step is a whole number", concept="wrong type"),
]

RIGHT += [
    Right(_Q1, "the layer's own shape (a torch.Size)", "quiz_rgb_weight_shape = nn.Conv2d(3, 16, 5).weight.shape"),
    Right(_Q1, "a tuple built from names", """
out_channels, in_channels, k = 16, 3, 5
quiz_rgb_weight_shape = (out_channels, in_channels, k, k)
"""),
    Right(_Q2, "counted from the layer", "quiz_bn_params = sum(p.numel() for p in nn.BatchNorm2d(32).parameters())"),
    Right(_Q2, "an expression", "quiz_bn_params = 2 * 32"),
    Right(_Q3, "an expression", "quiz_peak_step = int(0.25 * 200) - 1"),
    Right(_Q3, "floor division", "quiz_peak_step = 200 // 4 - 1"),
]

NO_ALTERNATIVES: dict[str, str] = {}

# -- the numbers the prose states --------------------------------------------------------------------------

#: The seeds the 1cycle comparison of the prose rests on.
SCHEDULE_SEEDS = range(12)


@lru_cache(maxsize=None)
def schedule_accuracies(schedule: str) -> tuple[float, ...]:
    """digit_cnn() trained as the chapter's 1cycle section trains it (2 epochs, batches of 256, rate 0.03),
    once per seed of :data:`SCHEDULE_SEEDS`: the final validation accuracies."""
    import torch

    from helpers.stability import digit_cnn, ten_digits
    from helpers.train import fit

    data = ten_digits()
    found = []
    for seed in SCHEDULE_SEEDS:
        torch.manual_seed(seed)
        history = fit(digit_cnn(), *data, epochs=2, lr=0.03, batch_size=256, seed=seed, schedule=schedule,
                      progress=False)
        found.append(float(history.valid_accuracy[-1]))
    return tuple(found)


@lru_cache(maxsize=None)
def first_runs() -> dict[str, float]:
    """The accuracies of the chapter's first two one-epoch runs (learning rate 0.01 and 0.06, random seed 0)."""
    import torch

    from helpers.stability import digit_cnn, ten_digits
    from helpers.train import fit

    found = {}
    for lr in (0.01, 0.06):
        torch.manual_seed(0)
        found[f"lr {lr}"] = float(fit(digit_cnn(), *ten_digits(), epochs=1, lr=lr, progress=False).valid_accuracy[-1])
    return found


@lru_cache(maxsize=None)
def healthy_shares() -> tuple[float, ...]:
    """The share of near-zero activations of each ReLU at the end of the chapter's healthy run (learning rate
    0.01, one epoch, random seed 0), averaged over its last ten steps."""
    import torch

    from helpers.stability import digit_cnn, ten_digits, train_recorded

    torch.manual_seed(0)
    run = train_recorded("lr 0.01", digit_cnn(), epochs=1, lr=0.01, data=ten_digits())
    return tuple(sum(layer.near_zero[-10:]) / 10 for layer in run.stats.layers)


def _schedule_claim(text: str, statistic: str, schedule: str, expected: float, tolerance: float = 0.005) -> Claim:
    return Claim(text, "import statistics\nfrom grader.catalogue.ch07 import schedule_accuracies\n"
                       f"value = {statistic}(schedule_accuracies({schedule!r}))", expected, tolerance,
                 seeds=len(SCHEDULE_SEEDS))


CLAIMS: list[Claim] = [
    Claim("63 batches of 64", "import math\nvalue = math.ceil(4000 / 64)", 63, 0),
    Claim("16 batches of 256", "import math\nvalue = math.ceil(4000 / 256)", 16, 0),
    Claim("nine digits in ten", "from grader.catalogue.ch07 import first_runs\nvalue = first_runs()['lr 0.01']",
          0.88, 0.03),
    Claim("about 10% is what a constant guess gets",
          "from grader.catalogue.ch07 import first_runs\nvalue = first_runs()['lr 0.06']", 0.10, 0.03),
    Claim("between a quarter (first layer) and two thirds",
          "from grader.catalogue.ch07 import healthy_shares\nvalue = healthy_shares()[0]", 0.25, 0.05),
    Claim("between a quarter (first layer) and two thirds",
          "from grader.catalogue.ch07 import healthy_shares\nvalue = sum(healthy_shares()[1:]) / 3", 0.67, 0.05),
    _schedule_claim("84.5% on average", "statistics.mean", "constant", 0.845),
    _schedule_claim("from 76.6% to 88.7%", "min", "constant", 0.766),
    _schedule_claim("from 76.6% to 88.7%", "max", "constant", 0.887),
    _schedule_claim("1cycle 85.6%", "statistics.mean", "onecycle", 0.856),
    _schedule_claim("from 78.9% to 89.0%", "min", "onecycle", 0.789),
    _schedule_claim("from 78.9% to 89.0%", "max", "onecycle", 0.890),
    _schedule_claim("about 3.5 points each", "statistics.stdev", "constant", 0.035, 0.005),
    _schedule_claim("about 3.5 points each", "statistics.stdev", "onecycle", 0.035, 0.005),
]
