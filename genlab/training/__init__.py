"""Training: config dataclass, losses and the loop shared by the CLI and the app. No UI here."""
from .config import DEFAULT_LR, TrainConfig
from .loop import StopTraining, TrainResult, train

__all__ = ["DEFAULT_LR", "TrainConfig", "StopTraining", "TrainResult", "train"]
