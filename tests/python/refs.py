"""Reference losses in PyTorch (float64 autograd), written from the peers'
formulas: MONAI 1.3 DiceLoss / TverskyLoss / GeneralizedDiceLoss /
DiceCELoss (one channel), torchvision sigmoid_focal_loss, torch.nn.functional
BCE / BCE-with-logits / cross-entropy. Never from segloss."""
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _sums(p, y, batch):
    dims = list(range(2, p.dim()))
    if batch:
        dims = [0] + dims
    return dims


def dice(x, y, sigmoid=True, squared=False, jaccard=False, batch=False, smooth_nr=1e-5,
         smooth_dr=1e-5, reduction="mean", include_background=True):
    p = torch.sigmoid(x) if sigmoid else x
    if not include_background:
        p, y = p[:, 1:], y[:, 1:]
    d = _sums(p, y, batch)
    inter = (p * y).sum(d)
    g = (y * y).sum(d) if squared else y.sum(d)
    q = (p * p).sum(d) if squared else p.sum(d)
    den = g + q
    if jaccard:
        den = 2.0 * (den - inter)
    f = 1.0 - (2.0 * inter + smooth_nr) / (den + smooth_dr)
    return f.mean() if reduction == "mean" else f.sum() if reduction == "sum" else f


def tversky(x, y, alpha=0.5, beta=0.5, batch=False, smooth_nr=1e-5, smooth_dr=1e-5):
    p = torch.sigmoid(x)
    d = _sums(p, y, batch)
    tp = (p * y).sum(d)
    fp = alpha * (p * (1 - y)).sum(d)
    fn = beta * ((1 - p) * y).sum(d)
    return (1.0 - (tp + smooth_nr) / (tp + fp + fn + smooth_dr)).mean()


def generalized_dice(x, y, w_type="square", smooth_nr=1e-5, smooth_dr=1e-5):
    p = torch.sigmoid(x)
    d = list(range(2, p.dim()))
    inter = (p * y).sum(d)
    g = y.sum(d)
    q = p.sum(d)
    w = {"square": 1.0 / (g * g), "simple": 1.0 / g, "uniform": torch.ones_like(g)}[w_type]
    w = w.detach()
    for b in range(w.shape[0]):          # MONAI: infinite weights -> the max finite one
        inf = torch.isinf(w[b])
        w[b][inf] = 0.0
        w[b] = w[b] + inf * torch.max(w[b])
    num = 2.0 * (inter * w).sum(1) + smooth_nr
    den = ((g + q) * w).sum(1) + smooth_dr
    return (1.0 - num / den).mean()


def focal(x, y, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    pt = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - pt) ** gamma
    if alpha is not None and alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss.mean()


def dice_bce(x, y, lambda_dice=1.0, lambda_bce=1.0):
    return lambda_dice * dice(x, y) + lambda_bce * F.binary_cross_entropy_with_logits(x, y)


# ---- the second edition (MONAI 1.3 DiceCELoss C > 1, DiceFocalLoss,
# GeneralizedDiceFocalLoss, HausdorffDTLoss; smp 0.3.3 MCCLoss) ----
def onehot(lab, c):
    return F.one_hot(lab, c).movedim(-1, 1).double()


def dice_ce(x, lab, lambda_dice=1.0, lambda_ce=1.0, label_smoothing=0.0,
            include_background=True):
    c = x.shape[1]
    d = dice(torch.softmax(x, 1), onehot(lab, c), sigmoid=False,
             include_background=include_background)
    return lambda_dice * d + lambda_ce * F.cross_entropy(x, lab, label_smoothing=label_smoothing)


def monai_focal(x, y, gamma=2.0, alpha=None, include_background=True):
    """MONAI FocalLoss(use_softmax=False), reduction mean."""
    if not include_background:
        x, y = x[:, 1:], y[:, 1:]
    loss = x - x * y - F.logsigmoid(x)          # BCE with logits, as MONAI sums it
    loss = torch.exp(F.logsigmoid(-x * (y * 2 - 1)) * gamma) * loss
    if alpha is not None:
        loss = (y * alpha + (1 - y) * (1 - alpha)) * loss
    return loss.mean()


def mcc(p, y, eps=1e-5):
    """smp MCCLoss.forward: 1 - MCC over the flattened batch."""
    p, y = p.reshape(-1), y.reshape(-1)
    tp = (p * y).sum() + eps
    tn = ((1 - p) * (1 - y)).sum() + eps
    fp = (p * (1 - y)).sum() + eps
    fn = ((1 - p) * y).sum() + eps
    num = tp * tn - fp * fn
    den = ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)).sqrt()
    return 1.0 - num / den


def hausdorff_dt(p, y, alpha=2.0, include_background=False, log=False):
    """MONAI HausdorffDTLoss(sigmoid=False, softmax=False), reduction mean:
    the distance fields from scipy's exact EDT, as MONAI's distance_field."""
    from scipy.ndimage import distance_transform_edt
    import numpy as np

    def field(img):
        out = np.zeros(img.shape)
        for n in range(img.shape[0]):
            for c in range(img.shape[1]):
                m = img[n, c] > 0.5
                if m.any() and not m.all():
                    out[n, c] = distance_transform_edt(m) + distance_transform_edt(~m)
        return torch.tensor(out)
    if not include_background:
        p, y = p[:, 1:], y[:, 1:]
    f = field(p.detach().numpy()) ** alpha + field(y.detach().numpy()) ** alpha
    v = ((p - y) ** 2 * f).mean()
    return torch.log(v + 1) if log else v


def cldice(y, p, iter_=3, smooth=1.0, alpha=None):
    """Soft clDice (Shit et al. 2021) as MONAI 1.5 defines it (channels
    1..C-1, sums over the batch): erosion = min of the 3-element line minima
    along each axis, dilation = 3x3 box maximum; alpha: soft Dice + clDice."""
    import torch.nn.functional as F

    def erode(img):
        return torch.min(-F.max_pool2d(-img, (3, 1), 1, (1, 0)),
                         -F.max_pool2d(-img, (1, 3), 1, (0, 1)))

    def skel(img):
        s = F.relu(img - F.max_pool2d(erode(img), 3, 1, 1))
        for _ in range(iter_):
            img = erode(img)
            d = F.relu(img - F.max_pool2d(erode(img), 3, 1, 1))
            s = s + F.relu(d - s * d)
        return s
    sp, sy, p1, y1 = skel(p)[:, 1:], skel(y)[:, 1:], p[:, 1:], y[:, 1:]
    tprec = ((sp * y1).sum() + smooth) / (sp.sum() + smooth)
    tsens = ((sy * p1).sum() + smooth) / (sy.sum() + smooth)
    cl = 1.0 - 2.0 * tprec * tsens / (tprec + tsens)
    if alpha is None:
        return cl
    dice = 1.0 - (2.0 * (y1 * p1).sum() + smooth) / (y1.sum() + p1.sum() + smooth)
    return (1.0 - alpha) * dice + alpha * cl
