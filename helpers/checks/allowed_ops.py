"""What a by-hand answer may call: the one allowlist, shared by the learner's visible check and the grader.

A by-hand exercise (``convolve``, ``max_pool``...) asks for loops, slices and sums, not for
torch's own convolution. Refusing the operators that convolve is a losing game: torch ships
more compiled convolution, pooling and window kernels than any list written by hand names,
and each one missed is a full-marks answer computed by torch. So the rule is the other way
round: while a by-hand answer runs, only the elementary ATen operators a hand computation
needs are allowed, and everything else is refused at the dispatcher.

The set is derived once, at import, from torch's own operator registry
(``torch._C._dispatch_get_all_op_names``), by rules, so that a kernel a future torch adds is
refused by default:

* every ``aten`` operator whose schema is tagged ``pointwise`` (arithmetic, comparisons,
  ``where``, ``clamp``, math functions, their in-place forms) or ``reduction`` (``sum``,
  ``amax``, ``argmax``...) is allowed;
* so is every operator of a short, explicit list of :data:`FAMILIES` (creation, indexing and
  slicing, views that do not build windows, matrix products, joining and flipping, copies,
  dtype and device moves), with its in-place (``name_``) and copying (``name_copy``) forms;
* but never one whose name says it builds windows (:data:`WINDOW_WORDS`: convolution,
  pooling, ``unfold``, ``fft``, ``im2col``, ``as_strided``, ``set_``...), whatever its tags;
* nor any operator outside the ``aten`` namespace (``prims``, ``quantized``, ``mkldnn``...).

``einsum``, ``matmul`` and ``tensordot`` are composite: torch decomposes them, above the
dispatch mode, into ``permute``, ``reshape`` and ``bmm``, which are allowed. They stay allowed
on purpose: a contraction of the axes a learner names cannot slide a window over an image
unless the windows were built first, and every operator that builds windows is refused.

Python-level shortcuts outside torch (SciPy's convolutions and filters, NumPy's stride
tricks) are refused through their code objects by the same guards; :data:`PYTHON_SHORTCUTS`
is their one list.
"""

from __future__ import annotations

import re
import types
from functools import lru_cache

import torch

__all__ = ["ALLOWED", "FAMILIES", "NUMPY_BRIDGES", "PYTHON_SHORTCUTS", "WINDOW_WORDS", "allowed", "all_aten_ops", "kernel_ops"]

#: Operator families allowed besides the pointwise and reduction ones (the ATen name; in-place
#: forms, ``name_``, follow their family).
FAMILIES = frozenset({
    # creation
    "empty", "empty_like", "empty_strided", "new_empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like", "arange",
    "linspace", "logspace", "eye", "scalar_tensor", "lift", "lift_fresh", "lift_fresh_copy", "new_empty",
    "new_zeros", "new_ones", "new_full", "rand", "rand_like", "randn", "randn_like", "randint", "randint_like",
    "randperm", "normal", "uniform", "random", "tril", "triu",
    # copies, dtype and device moves, scalars out
    "clone", "copy", "_copy_from", "_copy_from_and_resize", "_to_copy", "to", "contiguous", "detach", "alias",
    "fill", "zero", "_local_scalar_dense", "item", "resize", "_resize_output", "_has_compatible_shallow_copy_type",
    "result_type", "is_nonzero", "equal", "allclose", "_assert_async", "resolve_conj", "resolve_neg",
    "sym_size", "sym_numel", "sym_stride", "sym_storage_offset", "size", "stride", "numel", "is_same_size",
    # views that do not build windows
    "view", "_unsafe_view", "_reshape_alias", "reshape", "flatten", "unflatten", "expand", "expand_as",
    "broadcast_to", "broadcast_tensors", "permute", "transpose", "t", "numpy_T", "squeeze", "unsqueeze",
    "movedim", "select", "slice", "narrow", "split", "split_with_sizes", "chunk", "tensor_split", "unbind",
    "view_as",
    # indexing
    "index", "_unsafe_index", "index_put", "_index_put_impl", "index_select", "index_add", "index_copy",
    "index_fill", "gather", "scatter", "scatter_add", "scatter_reduce", "masked_fill", "masked_select",
    "masked_scatter", "nonzero", "take", "take_along_dim", "select_scatter", "slice_scatter",
    # joining, flipping, padding with a constant
    "cat", "stack", "flip", "roll", "rot90", "repeat", "repeat_interleave", "constant_pad_nd",
    # padding of any mode (zeros, replicated or reflected borders) builds no window: a wrong mode is a
    # mistake to name, not a shortcut
    "pad", "_pad_enum", "_pad_circular", "replication_pad1d", "replication_pad2d", "replication_pad3d",
    "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
    # products
    "mm", "bmm", "mv", "dot", "vdot", "matmul", "addmm", "addmv", "addbmm", "baddbmm", "outer",
    # arithmetic and reductions the registry does not tag as such
    "floor_divide", "median", "nanmedian", "mode", "kthvalue", "_softmax", "_log_softmax", "trace",
    "diagonal", "diag_embed", "histc", "bincount", "searchsorted", "bucketize", "isin",
    # ordering and running sums
    "sort", "argsort", "topk", "cumsum", "cumprod", "cummax", "cummin", "unique_consecutive", "_unique",
    "_unique2", "unique_dim",
    # assertions and printing
    "_assert_scalar", "_assert_tensor_metadata", "sym_constrain_range", "_print",
})

#: Words in an operator's name that say it builds windows (or computes through them): never allowed.
WINDOW_WORDS = ("conv", "pool", "window", "fold", "fft", "stft", "im2col", "col2im", "as_strided", "set_",
                "storage", "correlat", "_nested")
_WINDOWED = re.compile("|".join(map(re.escape, WINDOW_WORDS)))

#: Python-level shortcuts outside torch, by module: the guards replace their code by a refusal.
PYTHON_SHORTCUTS = types.MappingProxyType({
    "numpy.lib.stride_tricks": ("sliding_window_view", "as_strided"),
    "scipy.signal": ("convolve2d", "correlate2d", "convolve", "correlate", "fftconvolve", "oaconvolve"),
    "scipy.ndimage": ("convolve", "correlate", "maximum_filter", "uniform_filter", "minimum_filter"),
})  # read-only: an earlier cell can replace it (the grader's snapshot notices) but not empty it in place


#: Where a tensor's numbers become a NumPy array (attributes of ``torch.Tensor``): refused, by name, while a
#: by-hand answer runs. The answer computes on its tensors with torch's operators; at grading no NumPy code
#: runs at all then (:mod:`helpers.checks.native`), and these give the learner the reason in the notebook too.
NUMPY_BRIDGES = ("numpy", "__array__")


@lru_cache(maxsize=1)
def all_aten_ops() -> dict[str, tuple[str, ...]]:
    """Every ``aten`` operator in torch's registry: ``{name: (overload, ...)}`` (``""`` is the default)."""
    found: dict[str, list[str]] = {}
    for qualified in torch._C._dispatch_get_all_op_names():
        namespace, _, rest = qualified.partition("::")
        if namespace == "aten":
            name, _, overload = rest.partition(".")
            found.setdefault(name, []).append(overload)
    return {name: tuple(sorted(overloads)) for name, overloads in found.items()}


def _tags(name: str) -> set[str]:
    """The tags of every overload of ``aten::name`` (read from the registry, without building packets)."""
    tags: set[str] = set()
    for overload in all_aten_ops()[name]:
        found = torch._C._get_operation_overload(f"aten::{name}", overload)
        tags |= {str(tag).rsplit(".", 1)[-1] for tag in (found[2] if found else ())}
    return tags


def _rule(name: str) -> bool:
    if _WINDOWED.search(name):
        return False
    family = name[:-1] if name.endswith("_") and not name.endswith("__") else name
    family = family.removesuffix("_copy") if family.endswith("_copy") and family != "_to_copy" else family
    return family in FAMILIES or bool(_tags(name) & {"pointwise", "reduction"})


#: The ``aten`` operators a by-hand answer may call (overload packet names, e.g. ``"add_"``).
ALLOWED: frozenset[str] = frozenset(name for name in all_aten_ops() if _rule(name))


def allowed(namespace: str, name: str) -> bool:
    """May a by-hand answer run this operator (``func.namespace``, ``func._overloadpacket.__name__``)?"""
    return namespace == "aten" and name in ALLOWED


#: Dispatch keys whose kernel computes on CPU (a CPU kernel registered by the guard takes their place).
_COMPUTED_AT = ("CPU", "CompositeExplicitAutograd", "CompositeExplicitAutogradNonFunctional")


def _kernel_ops() -> tuple[str, ...]:
    """The refused operators whose CPU kernel the grader replaces process-wide (``"name.overload"``).

    Compute operators only: views (schemas that return an alias, like ``as_strided`` and
    ``unfold``) are called from inside allowed kernels (``expand``, indexing), so replacing
    their kernel would refuse honest answers; they are left to the dispatch mode.
    """
    chosen = []
    for name, overloads in all_aten_ops().items():
        if name in ALLOWED:
            continue
        for overload in overloads:
            qualified = f"aten::{name}.{overload}" if overload else f"aten::{name}"
            if not any(torch._C._dispatch_has_kernel_for_dispatch_key(qualified, key) for key in _COMPUTED_AT):
                continue  # composite-implicit: torch decomposes it above, into operators refused or allowed
            schema = torch._C._get_schema(f"aten::{name}", overload)
            if any(r.alias_info is not None for r in schema.returns) or \
                    any(a.alias_info is not None and a.alias_info.is_write for a in schema.arguments):
                continue  # views and in-place/out forms: left to the dispatch mode
            chosen.append(f"{name}.{overload}" if overload else name)
    return tuple(chosen)


_KERNEL_OPS = _kernel_ops()  # at import, so that each forked collecting child finds it ready


def kernel_ops() -> tuple[str, ...]:
    """The refused compute operators whose CPU kernel the grader replaces (see :func:`_kernel_ops`)."""
    return _KERNEL_OPS
