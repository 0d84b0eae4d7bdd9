"""Everything the explorer shows about one latent point, from one call (stylegan3's
`Renderer.render(**args)` pattern): the generated image, its class, the discriminator's verdict,
and every layer's activations through the one hook mechanism (genlab.inspect)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..generate import label_tensor, latent_tensor
from ..inspect import layer_activations, mean_activations, named_layers


@dataclass
class PointView:
    z: list[float]
    image: torch.Tensor                       # (1, 28, 28) in [-1, 1], on the CPU
    probabilities: list[float] | None         # the classifier's, per class (None without a classifier)
    realness: float | None                    # the discriminator's sigmoid(logit) (GANs only)
    layer_means: dict[str, float]             # "Activations for each layer (average values)"
    activations: dict[str, torch.Tensor]      # layer -> its output for this point, without the batch axis

    @property
    def predicted(self) -> int | None:
        if self.probabilities is None:
            return None
        return max(range(len(self.probabilities)), key=self.probabilities.__getitem__)


def generating_network(model: nn.Module) -> str:
    """The sub-network whose layers make the image: "generator" or "decoder"."""
    return "decoder" if hasattr(model, "decoder") else "generator"


@torch.inference_mode()
def explore_point(model: nn.Module, z: list[float], classifier: nn.Module | None = None,
                  label: int | None = None) -> PointView:
    """Generate the image of latent point `z` and look at it from every side.

    Args:
        model: any generative GenLab model (GAN, conditional GAN, AE, VAE) or one of the same shape.
        z: the latent point, d numbers (validated; raises genlab.generate.GenerateError).
        classifier: optional; gives the class probabilities.
        label: the class label for a conditional GAN.
    """
    zt = latent_tensor(model, [z])
    labels = label_tensor(model, label, 1)
    layers = named_layers(model, generating_network(model))
    image, activations = layer_activations(model, lambda: model.generate(zt, labels), layers)
    probabilities = realness = None
    if classifier is not None:
        probabilities = torch.softmax(classifier(image.to(next(classifier.parameters()).device)), dim=1)[0]
        probabilities = [float(p) for p in probabilities.cpu()]
    if hasattr(model, "discriminator"):
        logit = model.discriminator(image, labels) if model.conditional else model.discriminator(image)
        realness = float(torch.sigmoid(logit).flatten()[0])
    return PointView(z=[float(v) for v in z], image=image[0].cpu(), probabilities=probabilities, realness=realness,
                     layer_means=mean_activations(activations),
                     activations={name: a[0].cpu() for name, a in activations.items()})
