"""ctypes mirror of include/segloss.h: the shared libraries, the structs and
the function prototypes.

Why ctypes: no compiler is needed to install the package, there is no
coupling to NumPy's C ABI (Debian's python3-numpy can change under us), and
ctypes releases the GIL around every call into a CDLL (not PyDLL). Every
Structure below mirrors its C struct field by field (same names, same
order); tests/python/test_abi.py compiles a small C program that prints
sizeof/offsetof of each one and compares, so any drift in segloss.h fails.

The libraries are loaded by path: first from this package's directory (what
`make python` and the pip install put there), else from build/ of the source
tree the package sits in, else by soname (an installed libsegloss).
"""
import ctypes
import os
from ctypes import (POINTER, Structure, c_char_p, c_double, c_float, c_int, c_int64,
                    c_size_t, c_uint, c_uint8, c_void_p)

MAX_DIMS = 8
IGNORE_NONE = -(2 ** 63)

# segloss_status
OK, ERR_NULL, ERR_SHAPE, ERR_EMPTY, ERR_OVERFLOW, ERR_NOMEM, ERR_DOMAIN, ERR_TARGET, \
    ERR_ARG, ERR_DTYPE, ERR_NONFINITE, ERR_IO, ERR_FORMAT, ERR_UNSUPPORTED, ERR_LIMIT, \
    ERR_INTERNAL = range(16)

# segloss_dtype, by NumPy dtype name
DTYPES = {"float32": 0, "float64": 1, "uint8": 2, "bool": 3, "int8": 4, "int16": 5,
          "int32": 6, "int64": 7, "uint16": 8, "uint32": 9, "uint64": 10}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}

REDUCTIONS = {"mean": 0, "sum": 1, "none": 2}
ACTIVATIONS = {"sigmoid": 0, "none": 1, "softmax": 2}
TARGET_AUTO, TARGET_DENSE, TARGET_INDEX = 0, 1, 2
INPUT_FINITE, INPUT_PROB = 0, 1
W_TYPES = {"square": 0, "simple": 1, "uniform": 2}
SMP_VERSIONS = {"current": 1, "0.3": 2}
HD95_VARIANTS = {"max": 0, "pooled": 1}
EMPTY_SCORES = {"nan": 0, "one": 1, "zero": 2}
EMPTY_DISTANCES = {"nan": 0, "diag": 1}
SURFACES = {"voxel": 0, "surfel": 1}   # segloss_surface_kind
IMAGE_FORMATS = {"unknown": 0, "npy": 1, "png": 2, "nifti": 3}


class shape(Structure):
    _fields_ = [("ndim", c_int), ("dim", c_int64 * MAX_DIMS)]


class target(Structure):
    _fields_ = [("data", c_void_p), ("dtype", c_int)]


class farray(Structure):
    _fields_ = [("data", POINTER(c_float)), ("shape", shape)]


class check_report(Structure):
    _fields_ = [("index", c_int64), ("value", c_double), ("ignored", c_int64),
                ("count", c_int64)]


class bce_opts(Structure):
    _fields_ = [("reduction", c_int), ("weight", farray), ("pos_weight", farray),
                ("ignore_index", c_int64)]


class focal_opts(Structure):
    _fields_ = [("reduction", c_int), ("weight", farray), ("alpha", c_double),
                ("gamma", c_double), ("ignore_index", c_int64)]


class ce_opts(Structure):
    _fields_ = [("reduction", c_int), ("class_weight", farray), ("ignore_index", c_int64),
                ("label_smoothing", c_double)]


class lovasz_opts(Structure):
    _fields_ = [("reduction", c_int), ("per_image", c_int), ("ignore_index", c_int64)]


class dice_opts(Structure):
    _fields_ = [("reduction", c_int), ("activation", c_int), ("smooth_nr", c_double),
                ("smooth_dr", c_double), ("squared", c_int), ("jaccard", c_int),
                ("batch", c_int), ("target_kind", c_int), ("no_background", c_int),
                ("ignore_index", c_int64), ("smp", c_int), ("log_loss", c_int)]


class tversky_opts(Structure):
    _fields_ = [("region", dice_opts), ("alpha", c_double), ("beta", c_double),
                ("gamma", c_double)]


class generalized_dice_opts(Structure):
    _fields_ = [("region", dice_opts), ("w_type", c_int)]


class dice_bce_opts(Structure):
    _fields_ = [("dice", dice_opts), ("pos_weight", farray), ("lambda_dice", c_double),
                ("lambda_bce", c_double)]


class dice_ce_opts(Structure):
    _fields_ = [("dice", dice_opts), ("lambda_dice", c_double), ("lambda_ce", c_double),
                ("label_smoothing", c_double), ("nnunet", c_int)]


class dice_focal_opts(Structure):
    _fields_ = [("dice", dice_opts), ("gamma", c_double), ("alpha", c_double),
                ("lambda_dice", c_double), ("lambda_focal", c_double)]


class generalized_dice_focal_opts(Structure):
    _fields_ = [("gdice", generalized_dice_opts), ("gamma", c_double), ("alpha", c_double),
                ("lambda_gdl", c_double), ("lambda_focal", c_double)]


class mcc_opts(Structure):
    _fields_ = [("reduction", c_int), ("activation", c_int), ("eps", c_double)]


class topk_ce_opts(Structure):
    _fields_ = [("ce", ce_opts), ("k", c_double)]


class hausdorff_dt_opts(Structure):
    _fields_ = [("reduction", c_int), ("activation", c_int), ("target_kind", c_int),
                ("no_background", c_int), ("batch", c_int), ("alpha", c_double),
                ("log", c_int)]


class boundary_opts(Structure):
    _fields_ = [("reduction", c_int), ("activation", c_int), ("target_kind", c_int),
                ("no_background", c_int)]


class cldice_opts(Structure):
    _fields_ = [("iter", c_int), ("smooth", c_double), ("activation", c_int),
                ("target_kind", c_int), ("no_background", c_int)]


class dice_cldice_opts(Structure):
    _fields_ = [("cldice", cldice_opts), ("alpha", c_double)]
class unified_focal_opts(Structure):
    _fields_ = [("activation", c_int), ("target_kind", c_int), ("weight", c_double),
                ("delta", c_double), ("gamma", c_double), ("epsilon", c_double)]


class gwdl_opts(Structure):
    _fields_ = [("reduction", c_int), ("dist_matrix", POINTER(c_float)),
                ("num_classes", c_int64), ("weighting_mode", c_int), ("smooth_nr", c_double),
                ("smooth_dr", c_double)]


class batch_part(Structure):
    _fields_ = [("n_total", c_int64), ("n_offset", c_int64)]


class confusion(Structure):
    _fields_ = [("tp", c_int64), ("fp", c_int64), ("fn", c_int64), ("tn", c_int64)]


class label_array(Structure):
    _fields_ = [("data", c_void_p), ("dtype", c_int)]


class label_stats(Structure):
    _fields_ = [("label", c_int64), ("conf", confusion), ("box_lo", c_int64 * 3),
                ("box_hi", c_int64 * 3)]


class label_set(Structure):
    _fields_ = [("items", POINTER(label_stats)), ("count", c_int64), ("numel", c_int64)]


class metric_opts(Structure):
    _fields_ = [("spacing", c_double * 3), ("percentile", c_double), ("tolerance", c_double),
                ("hd95_variant", c_int), ("empty_score", c_int), ("empty_distance", c_int),
                ("distances", c_int), ("threads", c_int), ("beta", c_double),
                ("boundary_width", c_double), ("mask_metrics", c_uint), ("surface", c_int),
                ("convention", c_int)]


class overlap_scores(Structure):
    _fields_ = [(n, c_double) for n in
                ("dice", "iou", "precision", "recall", "specificity", "accuracy", "vs",
                 "mcc", "kappa", "fbeta", "balanced_accuracy", "youden",
                 "npv", "fpr", "fnr", "fdr", "for_", "lr_pos", "lr_neg",
                 "vol_pred", "vol_ref", "vol_diff",
                 "gce", "ri", "ari", "mi", "voi", "icc", "pbd", "auc")]


class surface_metrics(Structure):
    _fields_ = [(n, c_double) for n in
                ("hd", "hd95", "assd", "nsd", "masd", "sd_median", "sd_std", "max_pred_to_ref", "max_ref_to_pred",
                 "mean_pred_to_ref", "mean_ref_to_pred")] + \
               [("n_surface_pred", c_int64), ("n_surface_ref", c_int64)]


class mask_metrics(Structure):
    _fields_ = [(n, c_double) for n in ("boundary_iou", "com_dist", "mahalanobis", "cldice")]


# Bits of metric_opts.mask_metrics (SEGLOSS_MASK_*).
MASK_BOUNDARY_IOU, MASK_COM_DIST, MASK_MAHALANOBIS, MASK_CLDICE = 1, 2, 4, 8


class label_metrics(Structure):
    _fields_ = [("stats", label_stats), ("overlap", overlap_scores),
                ("surface", surface_metrics), ("mask", mask_metrics)]


class instance_opts(Structure):
    _fields_ = [("connectivity", c_int), ("min_size", c_int64), ("match", c_int),
                ("threshold", c_double), ("assignment", c_int), ("empty_score", c_int)]


class instance_pair(Structure):
    _fields_ = [("ref", c_int64), ("pred", c_int64), ("inter", c_int64), ("n_ref", c_int64),
                ("n_pred", c_int64), ("iou", c_double), ("dice", c_double),
                ("box_lo", c_int64 * 3), ("box_hi", c_int64 * 3),
                ("surface", surface_metrics)]


class instance_metrics(Structure):
    _fields_ = [(n, c_int64) for n in ("n_ref", "n_pred", "tp", "fp", "fn")] + \
               [(n, c_double) for n in ("iou_sum", "precision", "recall", "f1", "pq", "sq",
                                        "rq")]


class lesionwise_opts(Structure):
    _fields_ = [("spacing", c_double * 3), ("dilation", c_int), ("volume_threshold", c_double),
                ("missing_hd95", c_double)]


class lesion_row(Structure):
    _fields_ = [("volume", c_double), ("n_voxels", c_int64), ("n_pred", c_int64),
                ("dice", c_double), ("hd95", c_double), ("kept", c_int)]


class lesionwise(Structure):
    _fields_ = [("n_lesions", c_int64), ("tp", c_int64), ("fp", c_int64), ("fn", c_int64),
                ("dice", c_double), ("hd95", c_double)]


class instance_summary(Structure):
    _fields_ = [("cases", c_int64), ("total", instance_metrics), ("mean", instance_metrics),
                ("lesionwise_dice", c_double), ("lesionwise_hd95", c_double),
                ("sum_", c_double * 8), ("n_", c_int64 * 8)]


# SEGLOSS_MATCH_* and SEGLOSS_ASSIGN_* (the CLI's names).
MATCH_RULES = {"iou": 0, "dice": 1, "overlap": 2}
ASSIGNMENTS = {"greedy": 0, "hungarian": 1, "monai": 2}


class npy(Structure):
    _fields_ = [("data", c_void_p), ("dtype", c_int), ("shape", shape), ("numel", c_int64)]


class image(Structure):
    _fields_ = [("array", npy), ("spacing", c_double * MAX_DIMS), ("has_spacing", c_int),
                ("spacing_substituted", c_uint), ("spacing_file", c_double * MAX_DIMS)]


# C typedef name (without the segloss_ prefix) -> Structure: what
# test_abi.py checks against the header.
STRUCTS = {cls.__name__: cls for cls in (
    shape, target, farray, check_report, bce_opts, focal_opts, ce_opts, lovasz_opts,
    dice_opts, tversky_opts, generalized_dice_opts, dice_bce_opts, dice_ce_opts,
    dice_focal_opts, generalized_dice_focal_opts, mcc_opts, topk_ce_opts, hausdorff_dt_opts,
    boundary_opts, unified_focal_opts, gwdl_opts, batch_part, confusion, label_array,
    label_stats, label_set, metric_opts, overlap_scores, surface_metrics, mask_metrics,
    label_metrics, instance_opts, instance_pair, instance_metrics, lesionwise_opts, lesion_row,
    lesionwise, instance_summary, npy, image,
    cldice_opts, dice_cldice_opts)}

P = POINTER

# name -> (restype, argtypes) of the functions other than the losses' (the
# loss kinds bind theirs from their table row, _loss.py).
_PROTOS = {
    "version_string": (c_char_p, []),
    "strerror": (c_char_p, [c_int]),
    "set_num_threads": (None, [c_int]),
    "get_num_threads": (c_int, []),
    "kernel_isa": (c_char_p, []),
    "target_check": (c_int, [P(check_report), P(target), c_int64, c_int, c_int64, c_int64]),
    "input_check": (c_int, [P(check_report), P(c_float), c_int64, c_int]),
    "label_scan": (c_int, [P(label_set), P(label_array), P(label_array), P(shape)]),
    "label_set_free": (None, [P(label_set)]),
    "label_metrics_compute": (c_int, [P(label_metrics), P(c_int64), c_int64, P(label_set),
                                      P(label_array), P(label_array), P(shape),
                                      P(metric_opts)]),
    "region_metrics_compute": (c_int, [P(label_metrics), P(c_int64), P(c_int64), c_int64,
                                       P(c_int64), P(label_array), P(label_array), P(shape),
                                       P(metric_opts)]),
    "overlap_from_counts": (c_int, [P(overlap_scores), P(confusion), P(metric_opts)]),
    "metric_opts_convention": (c_int, [P(metric_opts), c_char_p]),
    "convention_name": (c_char_p, [c_int]),
    "dice_ce_opts_nnunet": (dice_ce_opts, []),
    "instance_opts_default": (instance_opts, []),
    "lesionwise_opts_brats2023": (lesionwise_opts, []),
    "label_mask": (c_int, [P(c_uint8), P(label_array), c_int64, c_int64]),
    "instance_eval": (c_int, [P(instance_metrics), c_void_p, c_void_p, P(label_array),
                              P(label_array), c_int64, c_int, P(shape), P(instance_opts),
                              P(metric_opts)]),
    "instance_scores": (None, [P(instance_metrics), c_int]),
    "instance_summary_init": (None, [P(instance_summary)]),
    "instance_summary_add": (None, [P(instance_summary), P(instance_metrics), P(lesionwise)]),
    "instance_summary_finish": (None, [P(instance_summary), c_int]),
    "lesionwise_brats": (c_int, [P(lesionwise), c_void_p, P(c_uint8), P(c_uint8), P(shape),
                                 P(lesionwise_opts)]),
    "percentile_inplace": (c_int, [P(c_double), P(c_double), c_int64, c_double]),
    "image_read": (c_int, [P(image), c_char_p, c_size_t, c_char_p, c_size_t]),
    "image_free": (None, [P(image)]),
    "image_format_from_path": (c_int, [c_char_p]),
}
# Every options struct: its _default() and, where there is one, the
# _items_shape() of its losses' reduction='none' array.
for _name, _opts in (("bce", bce_opts), ("focal", focal_opts), ("ce", ce_opts),
                     ("lovasz", lovasz_opts), ("dice", dice_opts), ("tversky", tversky_opts),
                     ("generalized_dice", generalized_dice_opts),
                     ("dice_bce", dice_bce_opts), ("dice_ce", dice_ce_opts),
                     ("dice_focal", dice_focal_opts),
                     ("generalized_dice_focal", generalized_dice_focal_opts),
                     ("mcc", mcc_opts), ("topk_ce", topk_ce_opts),
                     ("hausdorff_dt", hausdorff_dt_opts), ("boundary", boundary_opts),
                     ("unified_focal", unified_focal_opts), ("gwdl", gwdl_opts),
                     ("metric", metric_opts)):
    _PROTOS[_name + "_opts_default"] = (_opts, [])
for _name, _opts in (("lovasz", lovasz_opts), ("dice", dice_opts), ("tversky", tversky_opts),
                     ("generalized_dice", generalized_dice_opts),
                     ("hausdorff_dt", hausdorff_dt_opts)):
    _PROTOS[_name + "_items_shape"] = (c_int, [P(shape), P(shape), P(_opts)])
for _name, _opts in (("cldice", cldice_opts), ("dice_cldice", dice_cldice_opts)):
    _PROTOS[_name + "_opts_default"] = (_opts, [])


def _candidates(name):
    """SEGLOSS_LIBDIR first (an explicit choice wins over the copy the
    package holds), then the package's own directory, then a source tree's
    build/."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("SEGLOSS_LIBDIR")
    if env:
        yield os.path.join(env, name)
    yield os.path.join(here, name)
    # python/segloss/ or build/python/segloss/ inside a source tree
    for up in ("../..", "../../.."):
        yield os.path.normpath(os.path.join(here, up, "build", name))


def _load(name):
    for path in _candidates(name):
        if os.path.exists(path):
            return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    return ctypes.CDLL(name + ".0", mode=ctypes.RTLD_GLOBAL)


# libsegloss first (RTLD_GLOBAL): libsegloss_io's NEEDED libsegloss.so.0 is
# then satisfied by the already-loaded library of that soname.
core = _load("libsegloss.so")
io = _load("libsegloss_io.so")


class _Funcs:
    pass


fn = _Funcs()


def bind(name, restype, argtypes):
    """segloss_<name> with its prototype set, as fn.<name>; None when this
    build of the libraries lacks it."""
    for lib in (core, io):
        f = getattr(lib, "segloss_" + name, None)
        if f is not None:
            f.restype, f.argtypes = restype, argtypes
            setattr(fn, name, f)
            return f
    return None


for _name, (_res, _args) in _PROTOS.items():
    bind(_name, _res, _args)

# The three signatures of a loss (segloss_X_forward, _backward,
# _forward_backward), given its options struct.
def loss_protos(opts, elems=True):
    """elems=False: a forward (and forward_backward) without the loss array
    (topk_ce, boundary, cldice, dice_cldice)."""
    return {
        "forward": (c_int, [P(c_double)] + ([P(c_float)] if elems else []) +
                    [P(c_float), P(target), P(shape), P(opts)]),
        "backward": (c_int, [P(c_float), P(c_float), P(target), P(shape), P(opts), P(c_float)]),
        "forward_backward": (c_int, [P(c_double)] + ([P(c_float)] if elems else []) +
                             [P(c_float), P(c_float), P(target), P(shape), P(opts), P(c_float)]),
    }

F32P = P(c_float)
