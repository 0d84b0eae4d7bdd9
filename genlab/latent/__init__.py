"""Model-agnostic latent-space tools: class-area maps, latent ranges, one point's full view."""
