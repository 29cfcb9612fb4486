"""segloss.evaluate(..., metrics=["cldice"]) against the definition run on
scikit-image's own skeletons (Debian python3-skimage 0.19.3):
tprec = |S(A) & B| / |S(A)|, tsens = |S(B) & A| / |S(B)|,
cldice = 2 tprec tsens / (tprec + tsens) (Metrics Reloaded's
centreline_dsc); NaN for an empty skeleton or 0/0."""
import math

import numpy as np
import pytest
from scipy import ndimage as ndi

import segloss

skimage_morphology = pytest.importorskip("skimage.morphology")


def reference(a, b):
    if not a.any() or not b.any():
        return math.nan
    sa = skimage_morphology.skeletonize(a.astype(np.uint8)) > 0
    sb = skimage_morphology.skeletonize(b.astype(np.uint8)) > 0
    if not sa.any() or not sb.any():
        return math.nan
    tprec = np.sum(sa & b) / np.sum(sa)
    tsens = np.sum(sb & a) / np.sum(sb)
    return math.nan if tprec + tsens == 0 else float(2 * tsens * tprec / (tsens + tprec))


@pytest.mark.parametrize("shape", [(30, 41), (14, 17, 19), (1, 20, 23)])
def test_cldice_equals_skimage_definition(shape, rng):
    labels = np.zeros(shape, np.int32)
    for lab in (1, 2, 3):
        f = ndi.gaussian_filter(rng.standard_normal(shape), 2.0)
        labels[f > 0.15 * f.std()] = lab
    pred = np.where(rng.random(shape) < 0.9, labels, np.roll(labels, 1, axis=-1))
    got = segloss.evaluate(pred, labels, metrics=["dice", "cldice"],
                           spacing=(0.7,) * len(shape))["labels"]
    assert set(got) == {"1", "2", "3"}
    for key, row in got.items():
        want = reference(pred == int(key), labels == int(key))
        if math.isnan(want):
            assert math.isnan(row["cldice"])
        else:
            assert row["cldice"] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_cldice_empty_masks():
    pred = np.zeros((6, 7), np.uint8)
    ref = np.zeros((6, 7), np.uint8)
    ref[2:4, 2:5] = 1
    got = segloss.evaluate(pred, ref, metrics=["cldice"], labels=[1, 2],
                           empty_score="one")["labels"]
    assert math.isnan(got["1"]["cldice"])   # one empty: an empty skeleton
    assert got["2"]["cldice"] == 1.0         # both empty: the empty score
