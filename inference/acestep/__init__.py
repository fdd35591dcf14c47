"""ACE-Step 1.5 Turbo engine built on diffusers' ``AceStepPipeline``.

Importing this package stays cheap (no torch, no diffusers): the Celery parent
process constructs the engine before forking, and only ``setup()`` in each
child loads the heavy libraries and the weights.
"""

from inference.acestep.engine import AceStepEngine

__all__ = ["AceStepEngine"]
