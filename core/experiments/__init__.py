"""One module per lesson, each with Config, PRESETS and run(config) -> Iterator[Record]."""

from . import activations, batchnorm, optimizers, transfer, vanishing

EXPERIMENTS = {m.NAME: m for m in (vanishing, activations, batchnorm, transfer, optimizers)}
