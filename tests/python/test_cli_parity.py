"""segloss.loss / evaluate / evaluate_files give the CLI's results bit for
bit: the same arrays written as .npy by NumPy, `segloss loss --grad --out
--json` and `segloss eval --json -` on one side, the Python calls on the
other. Gradients and loss arrays are compared as bits; the loss scalar as
the CLI prints it (9 significant digits)."""
import json
import math
import os

import numpy as np
import pytest

import segloss

SHAPE = (2, 3, 5, 4)


def _inputs(rng, kind, opts):
    shape = (2, 2, 5, 4) if kind == "unified-focal" else SHAPE   # binary
    x = rng.normal(0, 2, shape).astype(np.float32)
    probs = kind in ("bce", "mcc", "hausdorff-dt", "log-hausdorff-dt", "unified-focal", "cldice",
                     "dice-cldice")
    if opts.get("activation", "none" if probs else "sigmoid") == "none":
        x = (1 / (1 + np.exp(-x))).astype(np.float32)
    index = kind in ("ce", "topk-ce", "lovasz-softmax", "dice-ce", "gwdl") or \
        opts.get("activation", "softmax" if kind == "boundary" else "") == "softmax"
    if index:
        t = rng.integers(0, shape[1], (shape[0],) + shape[2:]).astype(np.int64)
        if "ignore_index" in opts:
            t[0, 0, :2] = opts["ignore_index"]
        return x, t
    t = (rng.random(shape) < 0.4).astype(np.uint8)
    if "ignore_index" in opts:
        t[0, 1, 1, :3] = opts["ignore_index"]
    elif kind in ("bce", "bce-logits") and "weight" not in opts:
        t = rng.random(SHAPE).astype(np.float64)      # soft labels, another dtype
    return x, t


# (kind, options): every kind, every option group of the CLI.
CASES = [
    ("bce", {}), ("bce", {"weight": "w"}), ("bce", {"ignore_index": 255}),
    ("bce-logits", {}), ("bce-logits", {"pos_weight": [0.5, 2.0, 3.0]}),
    ("bce-logits", {"pos_weight": "pw", "weight": "w"}), ("bce-logits", {"ignore_index": 255}),
    ("dice", {}), ("dice", {"squared": True}), ("dice", {"jaccard": True, "batch": True}),
    ("dice", {"no_background": True, "smooth_nr": 0.0, "smooth_dr": 1e-3}),
    ("dice", {"activation": "softmax"}), ("dice", {"activation": "none"}),
    ("dice", {"smp": True}), ("dice", {"smp_version": "0.3", "log_loss": True}),
    ("dice", {"ignore_index": 255}),
    ("focal", {}), ("focal", {"alpha": -1.0, "gamma": 0.5}), ("focal", {"weight": "w"}),
    ("ce", {}), ("ce", {"class_weight": [1.0, 2.0, 0.5], "label_smoothing": 0.1}),
    ("ce", {"ignore_index": 1}),
    ("lovasz-hinge", {}), ("lovasz-hinge", {"per_image": True}),
    ("jaccard", {}), ("jaccard", {"smp": True}), ("jaccard", {"activation": "softmax"}),
    ("tversky", {}), ("tversky", {"alpha": 0.3, "beta": 0.7, "gamma": 1.5, "batch": True}),
    ("generalized-dice", {}), ("generalized-dice", {"w_type": "simple"}),
    ("generalized-dice", {"w_type": "uniform", "activation": "softmax"}),
    ("dice-bce", {}), ("dice-bce", {"lambda_dice": 0.3, "lambda_bce": 2.0,
                                    "pos_weight": [1.0, 2.0, 3.0]}),
    # the second edition (issue 13)
    ("dice-ce", {}), ("dice-ce", {"lambda_dice": 0.5, "lambda_ce": 2.0, "label_smoothing": 0.1,
                                  "batch": True}),
    ("dice-ce", {"nnunet": True}), ("dice-ce", {"ignore_index": 255}),
    ("dice-focal", {}), ("dice-focal", {"gamma": 1.5, "alpha": 0.25, "lambda_focal": 0.5,
                                        "no_background": True}),
    ("dice-focal", {"activation": "softmax", "squared": True}),
    ("generalized-dice-focal", {}),
    ("generalized-dice-focal", {"w_type": "simple", "lambda_gdl": 2.0, "batch": True}),
    ("mcc", {}), ("mcc", {"activation": "sigmoid", "eps": 1e-3}),
    ("topk-ce", {}), ("topk-ce", {"k": 30.0, "class_weight": [1.0, 2.0, 0.5]}),
    ("topk-ce", {"ignore_index": 1}),
    ("lovasz-softmax", {}), ("lovasz-softmax", {"per_image": True, "ignore_index": 2}),
    ("hausdorff-dt", {}), ("hausdorff-dt", {"batch": True, "include_background": True,
                                            "alpha": 1.0}),
    ("hausdorff-dt", {"activation": "softmax"}),
    ("log-hausdorff-dt", {}), ("log-hausdorff-dt", {"activation": "sigmoid"}),
    ("boundary", {}), ("boundary", {"no_background": True}),
    ("boundary", {"activation": "sigmoid"}),
    # clDice (issue 13)
    ("cldice", {}), ("cldice", {"iter": 1, "smooth": 0.5, "include_background": True}),
    ("cldice", {"activation": "softmax"}),
    ("dice-cldice", {}), ("dice-cldice", {"alpha": 0.2, "activation": "sigmoid"}),
    ("unified-focal", {}), ("unified-focal", {"weight": 0.3, "delta": 0.6, "gamma": 0.75}),
    ("unified-focal", {"activation": "softmax"}), ("unified-focal", {"activation": "sigmoid"}),
    ("gwdl", {"distance_matrix": "m"}),
    ("gwdl", {"distance_matrix": "m", "weighting_mode": "GDL", "smooth_nr": 1e-3}),
]


def _cli_args(opts, arrays, tmp_path):
    args = []
    for k, v in opts.items():
        name = "--" + k.replace("_", "-")
        if isinstance(v, str) and v in arrays:
            p = tmp_path / (v + ".npy")
            np.save(p, arrays[v])
            args += [name, p]
        elif v is True:
            args.append(name)
        elif isinstance(v, list):
            args += [name, ",".join(repr(a) for a in v)]
        else:
            args += [name, str(v)]
    return args


def _bits(a):
    return np.ascontiguousarray(a, np.float32).view(np.uint32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind,opts", CASES, ids=lambda v: str(v))
def test_loss_equals_cli(kind, opts, reduction, rng, cli, tmp_path):
    if kind == "dice-bce" and reduction == "none":
        pytest.skip("dice-bce has no reduction none (as MONAI)")
    if reduction not in segloss._loss.KINDS[kind].reductions:
        with pytest.raises(segloss.Error, match="reduction"):
            segloss.loss(kind, *_inputs(rng, kind, opts), reduction=reduction)
        return
    x, t = _inputs(rng, kind, opts)
    arrays = {"w": rng.random((SHAPE[1], 1, SHAPE[3])).astype(np.float32),
              "pw": rng.random((SHAPE[3],)).astype(np.float64) * 3,
              "m": np.array([[0, 1, 2], [1, 0, 1.5], [2, 0.5, 0]], np.float32)}
    py_opts = {k: (arrays[v] if isinstance(v, str) and v in arrays else v)
               for k, v in opts.items()}
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    args = ["loss", kind, "-i", tmp_path / "x.npy", "-t", tmp_path / "t.npy", "--json",
            "--reduction", reduction, "--grad", tmp_path / "g.npy"]
    if reduction == "none":
        args += ["--out", tmp_path / "o.npy"]
    run = cli(*(args + _cli_args(opts, arrays, tmp_path)), check=False)
    if run.returncode == 1:            # a combination the CLI refuses, Python too
        with pytest.raises(segloss.Error):
            segloss.loss(kind, x, t, grad=True, reduction=reduction, **py_opts)
        return
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    value, grad = segloss.loss(kind, x, t, grad=True, reduction=reduction, **py_opts)
    assert np.array_equal(_bits(grad), _bits(np.load(tmp_path / "g.npy")))
    if reduction == "none":
        cli_out = np.load(tmp_path / "o.npy")
        assert value.shape == cli_out.shape
        assert np.array_equal(_bits(value), _bits(cli_out))
        value = float(np.sum(value, dtype=np.float64))   # the CLI prints the sum
        assert out["loss"] is None or math.isclose(out["loss"], value, rel_tol=1e-6)
    else:
        assert ("%.9g" % value) == ("%.9g" % out["loss"]) if out["loss"] is not None \
            else math.isnan(value)
    # without grad: the forward alone gives the same value
    again = segloss.loss(kind, x, t, reduction=reduction, **py_opts)
    assert np.array_equal(np.asarray(again), np.asarray(value)) or reduction == "none"


def _nan_to_none(obj):
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None   # the CLI's JSON writes NaN and +-inf (MONAI's, DeepMind's) as null
    return obj


EVAL_OPTS = [
    ({}, []),
    ({"metrics": "all"}, ["--metrics", "all"]),
    ({"metrics": "dice,hd95,assd,nsd", "hd95_variant": "pooled", "percentile": 90,
      "tolerance": 2.0, "spacing": (0.5, 2.0)}, ["--metrics", "dice,hd95,assd,nsd",
                                                  "--hd95-variant", "pooled", "--percentile",
                                                  "90", "--tolerance", "2", "--spacing",
                                                  "0.5,2"]),
    ({"labels": [1, 7], "metrics": "all", "empty_score": "one", "empty_distance": "diag"},
     ["--labels", "1,7", "--metrics", "all", "--empty-score", "one", "--empty-distance",
      "diag"]),
]


@pytest.mark.parametrize("opts,args", EVAL_OPTS, ids=lambda v: str(v)[:40])
def test_evaluate_files_equals_cli_png(opts, args, cli, root):
    pred, ref = (os.path.join("examples", "png", d) for d in ("pred", "ref"))
    p = cli("eval", "--pred", os.path.join(root, pred), "--ref", os.path.join(root, ref),
            "--json", "-", "--quiet", *args)
    want = json.loads(p.stdout)
    got = segloss.evaluate_files(os.path.join(root, pred), os.path.join(root, ref), **opts)
    assert _nan_to_none(got) == want


@pytest.mark.parametrize("metrics", [None, "all"])
def test_evaluate_files_equals_cli_nifti(metrics, cli, root):
    pred, ref = (os.path.join(root, "examples", "nifti", f) for f in ("pred.nii.gz",
                                                                      "ref.nii.gz"))
    args = ["--metrics", metrics] if metrics else []
    want = json.loads(cli("eval", "--pred", pred, "--ref", ref, "--json", "-", "--quiet",
                          *args).stdout)
    got = segloss.evaluate_files(pred, ref, metrics=metrics)
    assert _nan_to_none(got) == want
    arr_p, _ = segloss.read_image(pred)
    arr_r, sp = segloss.read_image(ref)
    case = segloss.evaluate(arr_p, arr_r, spacing=sp, metrics=metrics)
    assert _nan_to_none(case) == {"labels": want["cases"][0]["labels"]}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scores", ["probs", "logits"])
def test_evaluate_scores_equals_cli(dtype, scores, rng, cli, tmp_path):
    """Random 3-D score maps against a label map with a float reference."""
    s = rng.normal(0, 1, (9, 10, 11))
    if scores == "probs":
        s = 1 / (1 + np.exp(-s))
    s = s.astype(dtype)
    ref = (rng.random((9, 10, 11)) < 0.3).astype(np.float64)
    np.save(tmp_path / "p.npy", s)
    np.save(tmp_path / "r.npy", ref)
    args = ["--metrics", "all", "--scores", scores, "--spacing", "1,0.5,2"]
    want = json.loads(cli("eval", "--pred", tmp_path / "p.npy", "--ref", tmp_path / "r.npy",
                          "--json", "-", "--quiet", *args).stdout)
    got = segloss.evaluate(s, ref, metrics="all", scores=scores, spacing=(1, 0.5, 2))
    assert _nan_to_none(got) == {"labels": want["cases"][0]["labels"]}


def test_evaluate_random_labels_equals_cli(rng, cli, tmp_path):
    pred = rng.integers(0, 5, (20, 30)).astype(np.int16)
    ref = rng.integers(0, 5, (20, 30)).astype(np.uint8)
    np.save(tmp_path / "p.npy", pred)
    np.save(tmp_path / "r.npy", ref)
    want = json.loads(cli("eval", "--pred", tmp_path / "p.npy", "--ref", tmp_path / "r.npy",
                          "--json", "-", "--quiet", "--metrics", "all").stdout)
    got = segloss.evaluate_files(tmp_path / "p.npy", tmp_path / "r.npy", metrics="all")
    assert _nan_to_none(got) == want
    # any memory layout: a transposed (non-contiguous) view gives the same as a copy
    a = segloss.evaluate(pred.T, ref.T, metrics="all")
    b = segloss.evaluate(np.ascontiguousarray(pred.T), np.ascontiguousarray(ref.T),
                         metrics="all")
    assert _nan_to_none(a) == _nan_to_none(b)


def test_same_kinds_as_cli(cli):
    """Every kind of `segloss loss --help` has its row in segloss's table (a
    kind added to the CLI fails here until Python has it too)."""
    lines = cli("loss", "--help").stdout.split("Kinds:\n", 1)[1].split("\n\n", 1)[0]
    cli_kinds = [l.split()[0] for l in lines.splitlines() if l.strip()]
    assert segloss.kinds() == cli_kinds


@pytest.mark.parametrize("kind", segloss.kinds())
def test_every_option_is_a_cli_option(kind, cli):
    """Each Python keyword of a kind is a long option of `segloss loss KIND`."""
    help_text = cli("loss", "--help").stdout
    for opt in segloss._loss.KINDS[kind].options:
        assert "--" + opt.replace("_", "-") in help_text, opt


def test_allow_missing_and_keep_going_equal_cli(rng, cli, tmp_path):
    for side in ("p", "r"):
        (tmp_path / side / "sub").mkdir(parents=True)
    for name in ("a.npy", "sub/b.npy", "c.npy"):
        np.save(tmp_path / "r" / name, rng.integers(0, 3, (6, 7)).astype(np.uint8))
    np.save(tmp_path / "p" / "a.npy", rng.integers(0, 3, (6, 7)).astype(np.uint8))
    np.save(tmp_path / "p" / "sub" / "b.npy", rng.integers(0, 3, (6, 8)).astype(np.uint8))
    p, r = str(tmp_path / "p"), str(tmp_path / "r")
    with pytest.raises(segloss.Error, match="shape mismatch"):
        segloss.evaluate_files(p, r, allow_missing=True)
    with pytest.raises(segloss.Error, match="without prediction"):
        segloss.evaluate_files(p, r, keep_going=False)
    run = cli("eval", "--pred", p, "--ref", r, "--json", "-", "--quiet", "--allow-missing",
              "--keep-going", "--metrics", "all", check=False)
    assert run.returncode == 2
    with pytest.warns(UserWarning, match="shape mismatch"):
        got = segloss.evaluate_files(p, r, allow_missing=True, keep_going=True, metrics="all")
    assert _nan_to_none(got) == json.loads(run.stdout)
    assert got["cases"][1]["pred"] is None


# The options of the second metrics edition: every metric, beta, the
# boundary width, regions and the ignore label (keywords, CLI arguments).
EVAL2_OPTS = [
    ({"metrics": "all", "beta": 2.0, "boundary_width": 1.5, "spacing": (1.0, 0.5, 2.0)},
     ["--metrics", "all", "--beta", "2", "--boundary-width", "1.5", "--spacing", "1,0.5,2"]),
    ({"metrics": "all", "regions": "1,2,3;2,3;3"},
     ["--metrics", "all", "--regions", "1,2,3;2,3;3"]),
    ({"metrics": "dice,fbeta,hd95,masd,boundary_iou,com_dist,mahalanobis",
      "regions": [[3, 2], [1]], "ignore_label": 4},
     ["--metrics", "dice,fbeta,hd95,masd,boundary_iou,com_dist,mahalanobis", "--regions",
      "2,3;1", "--ignore-label", "4"]),
    ({"metrics": "all", "ignore_label": 4}, ["--metrics", "all", "--ignore-label", "4"]),
    ({"labels": [2, 4, 9], "metrics": "mcc,kappa,vol_diff,sd_std", "ignore_label": 4},
     ["--labels", "2,4,9", "--metrics", "mcc,kappa,vol_diff,sd_std", "--ignore-label", "4"]),
    ({"metrics": "all", "surface": "surfel", "spacing": (1.0, 0.5, 2.0)},
     ["--metrics", "all", "--surface", "surfel", "--spacing", "1,0.5,2"]),
] + [({"metrics": "all", "convention": c, "spacing": (1.0, 0.5, 2.0)},
      ["--metrics", "all", "--convention", c, "--spacing", "1,0.5,2"])
     for c in ("segloss", "medpy", "monai", "deepmind", "metricsreloaded", "nnunet",
               "evaluatesegmentation")] + [
    # single options override the convention on either side of it
    ({"metrics": "all", "convention": "medpy", "hd95_variant": "max", "empty_score": "one"},
     ["--hd95-variant", "max", "--metrics", "all", "--convention", "medpy", "--empty-score",
      "one"]),
    ({"metrics": "all", "convention": "deepmind", "surface": "voxel"},
     ["--surface", "voxel", "--metrics", "all", "--convention=deepmind"]),
]


@pytest.mark.parametrize("opts,args", EVAL2_OPTS, ids=lambda v: str(v)[:60])
def test_evaluate_second_edition_equals_cli(opts, args, rng, cli, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    for name in ("a.npy", "b.npy"):
        ref = rng.integers(0, 5, (7, 9, 8)).astype(np.uint8)
        pred = np.where(rng.random(ref.shape) < 0.7, ref,
                        rng.integers(0, 4, ref.shape)).astype(np.int32)
        np.save(tmp_path / "p" / name, pred)
        np.save(tmp_path / "r" / name, ref)
    want = json.loads(cli("eval", "--pred", tmp_path / "p", "--ref", tmp_path / "r",
                          "--json", "-", "--quiet", *args).stdout)
    got = segloss.evaluate_files(tmp_path / "p", tmp_path / "r", **opts)
    assert _nan_to_none(got) == want
    one = segloss.evaluate(np.load(tmp_path / "p" / "a.npy"), np.load(tmp_path / "r" / "a.npy"),
                           **opts)
    assert _nan_to_none(one) == {"labels": want["cases"][0]["labels"]}


def test_regions_and_labels_conflict():
    with pytest.raises(segloss.Error, match="give one"):
        segloss.evaluate(np.ones((3, 3), np.uint8), np.ones((3, 3), np.uint8), labels=[1],
                         regions="1,2")
    with pytest.raises(segloss.Error, match="given twice"):
        segloss.evaluate(np.ones((3, 3), np.uint8), np.ones((3, 3), np.uint8),
                         regions="1,2;2,1")
    with pytest.raises(segloss.Error, match="beta"):
        segloss.evaluate(np.ones((3, 3), np.uint8), np.ones((3, 3), np.uint8), beta=0)


def test_every_cli_metric_is_a_python_metric(cli):
    """`segloss eval --metrics` names the metrics in Python's order."""
    run = cli("eval", "--pred", "x", "--ref", "x", "--metrics", "nonesuch", check=False)
    assert run.returncode == 1
    listed = run.stderr.split("expected any of ", 1)[1].split(", or all)", 1)[0]
    names = [n.strip() for n in listed.split(",")]
    assert names == segloss.metrics(), run.stderr


def _blobs(rng, shape, labels=2):
    """A label map of blob-like components (thresholded smoothed noise)."""
    from scipy.ndimage import uniform_filter
    out = np.zeros(shape, np.uint8)
    for lab in range(1, labels + 1):
        f = uniform_filter(rng.random(shape), 3)
        out[f > np.quantile(f, 0.85)] = lab
    return out


# (keywords, CLI arguments) of the instance evaluation (issue 12)
INSTANCE_OPTS = [
    ({"instances": True}, ["--instances"]),
    ({"instances": True, "connectivity": 1, "match": "dice:0.3", "assignment": "hungarian",
      "min_size": 3, "metrics": "dice,hd95"},
     ["--instances", "--connectivity", "1", "--match", "dice:0.3", "--assignment",
      "hungarian", "--min-size", "3", "--metrics", "dice,hd95"]),
    ({"match": "overlap", "assignment": "monai", "empty_score": "one", "labels": [1, 2, 3]},
     ["--match", "overlap", "--assignment", "monai", "--empty-score", "one", "--labels",
      "1,2,3"]),
    ({"lesionwise": "brats2023", "spacing": (1.0, 1.5, 2.0)},
     ["--lesionwise", "brats2023", "--spacing", "1,1.5,2"]),
    ({"instance_maps": True, "lesionwise": "brats2023"},
     ["--instance-maps", "--lesionwise", "brats2023"]),
]


@pytest.mark.parametrize("opts,args", INSTANCE_OPTS, ids=lambda v: str(v)[:60])
def test_instances_equal_cli(opts, args, rng, cli, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    for name in ("a.npy", "b.npy", "c.npy"):
        ref = _blobs(rng, (12, 14, 10))
        pred = np.where(rng.random(ref.shape) < 0.9, ref, 0).astype(np.uint8)
        pred[_blobs(rng, ref.shape, 1) == 1] = 1          # extra predicted components
        if name == "c.npy":
            pred[:] = 0                                   # nothing predicted
        np.save(tmp_path / "p" / name, pred.astype(np.int16))
        np.save(tmp_path / "r" / name, ref)
    want = json.loads(cli("eval", "--pred", tmp_path / "p", "--ref", tmp_path / "r",
                          "--json", "-", "--quiet", *args).stdout)
    assert "instances" in want and want["cases"][0]["instances"]
    got = segloss.evaluate_files(tmp_path / "p", tmp_path / "r", **opts)
    assert _nan_to_none(got) == want
    one = segloss.evaluate(np.load(tmp_path / "p" / "a.npy"), np.load(tmp_path / "r" / "a.npy"),
                           **opts)
    c0 = want["cases"][0]
    assert _nan_to_none(one) == {"labels": c0["labels"], "instances": c0["instances"]}


def test_instance_option_errors():
    a = np.zeros((4, 4), np.uint8)
    for bad in ({"match": "iou:1"}, {"match": "jaccard:0.5"}, {"assignment": "best"},
                {"connectivity": 4}, {"min_size": 2.5}, {"lesionwise": "brats2021"},
                {"instances": True, "regions": "1,2"}, {"min_size": 2, "ignore_label": 3}):
        with pytest.raises(segloss.Error):
            segloss.evaluate(a, a, **bad)
    with pytest.raises(segloss.Error, match="connectivity 3 needs a 3-D image"):
        segloss.evaluate(a, a, connectivity=3)


@pytest.mark.parametrize("args", [["--instances", "--regions", "1,2"],
                                  ["--min-size", "2", "--ignore-label", "3"]])
def test_instances_with_regions_refused_as_cli(args, cli, tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 4), np.uint8))
    run = cli("eval", "--pred", tmp_path / "a.npy", "--ref", tmp_path / "a.npy", *args,
              check=False)
    assert run.returncode == 1 and "cannot be combined" in run.stderr
