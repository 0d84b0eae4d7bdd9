"""The strong classifier's training augmentations and the report's blur test."""
import torch

from genlab.data.augment import DigitAugmentation, StrokeWidth, box_blur, make_augmentation


def test_digit_augmentation_keeps_shape_and_range(mnist5k_test):
    x = mnist5k_test.images[:256]
    torch.manual_seed(0)
    y = DigitAugmentation()(x)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    changed = (y - x).abs().flatten(1).max(dim=1).values > 1e-3
    assert 0.6 < changed.float().mean() < 1.0   # most images change; some stay clean
    assert make_augmentation("none") is None


def test_stroke_width_thickens_or_thins_the_ink(mnist5k_test):
    ink = (mnist5k_test.images[:64] + 1) / 2
    torch.manual_seed(0)
    out = StrokeWidth(p=1.0)(ink)
    delta = (out - ink).sum(dim=(1, 2, 3))
    assert (delta > 0).any() and (delta < 0).any()


def test_box_blur_keeps_mean_ink_and_spreads_it(mnist5k_test):
    x = mnist5k_test.images[:16]
    blurred = box_blur(x, 5)
    ink, blurred_ink = (x + 1) / 2, (blurred + 1) / 2
    assert torch.allclose(ink.sum(dim=(1, 2, 3)), blurred_ink.sum(dim=(1, 2, 3)), rtol=0.02)
    assert (blurred_ink > 0.01).sum() > (ink > 0.01).sum()
