"""One module per lesson, each with Config, PRESETS and run(config) -> Iterator[Record]."""

from . import activations, batchnorm, optimizers, vanishing

EXPERIMENTS = {m.NAME: m for m in (vanishing, activations, batchnorm, optimizers)}
