"""The embedded composer: procedural composition and synthesis on the CPU.

    from inference.composer import ComposerEngine
    audio = ComposerEngine().generate(prompt="lofi beat with rain", duration=30, seed=1)
"""

from inference.composer.engine import ComposerEngine

__all__ = ["ComposerEngine"]
