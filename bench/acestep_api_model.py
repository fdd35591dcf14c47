"""The tiny ACE-Step 1.5 DiT in the form ACE-Step's own `acestep-api` loads.

`acestep-api` loads its DiT with `AutoModel.from_pretrained(<checkpoint>,
trust_remote_code=True)`: the model code ships beside the weights on the Hub,
in no package a registry carries, and this machine cannot reach the Hub. This
module is that remote code for our tiny random-weight model (the one
`tests/support/tiny_acestep.py` saves for diffusers): it adapts diffusers'
ACE-Step components, loaded from the same files, to the two calls acestep-api's
handler makes for a text-to-music job (`prepare_condition`, `generate_audio`).
Everything else on that path (text encoder, VAE decode, job queue, audio file,
HTTP) is acestep-api's own code.

The bench copies this file into the checkpoint folder it builds; it runs only in
the acestep-api virtualenv (`make acestep-api`), never in the service.
"""

from __future__ import annotations

import os
import time

import torch
from transformers import PretrainedConfig, PreTrainedModel


class TinyAceStepConfig(PretrainedConfig):
    model_type = "tiny_acestep_v15"

    def __init__(self, is_turbo: bool = True, shift: float = 3.0, **kwargs) -> None:
        self.is_turbo = is_turbo
        self.shift = shift
        super().__init__(**kwargs)


class TinyAceStepModel(PreTrainedModel):
    config_class = TinyAceStepConfig
    base_model_prefix = "tiny_acestep"

    def __init__(self, config: TinyAceStepConfig, condition_encoder=None, decoder=None) -> None:
        super().__init__(config)
        self.condition_encoder = condition_encoder
        # acestep-api's handler calls the DiT `decoder` (LoRA swaps it by that name).
        self.decoder = decoder

    @classmethod
    def from_pretrained(cls, path, *args, config=None, **kwargs):
        # Our own loader: the diffusers components load their own configs and
        # weights from sub-folders; transformers' weight loading is bypassed.
        from diffusers import AceStepTransformer1DModel
        from diffusers.pipelines.ace_step.modeling_ace_step import AceStepConditionEncoder

        path = os.fspath(path)
        if not isinstance(config, TinyAceStepConfig):
            config = cls.config_class.from_pretrained(path)
        encoder = AceStepConditionEncoder.from_pretrained(os.path.join(path, "condition_encoder"))
        decoder = AceStepTransformer1DModel.from_pretrained(os.path.join(path, "transformer"))
        return cls(config, condition_encoder=encoder, decoder=decoder).eval()

    def prepare_condition(self, *, text_hidden_states, text_attention_mask, lyric_hidden_states,
                          lyric_attention_mask, refer_audio_acoustic_hidden_states_packed,
                          refer_audio_order_mask, src_latents, chunk_masks, **_unused):
        encoder_states, encoder_mask = self.condition_encoder(
            text_hidden_states=text_hidden_states,
            text_attention_mask=text_attention_mask,
            lyric_hidden_states=lyric_hidden_states,
            lyric_attention_mask=lyric_attention_mask,
            refer_audio_acoustic_hidden_states_packed=refer_audio_acoustic_hidden_states_packed,
            refer_audio_order_mask=refer_audio_order_mask,
        )
        context = torch.cat([src_latents, chunk_masks.to(src_latents.dtype)], dim=-1)
        return encoder_states, encoder_mask, context

    def _noise(self, shape, seed, dtype, device) -> torch.Tensor:
        seeds = seed if isinstance(seed, (list, tuple)) else [seed] * shape[0]
        rows = [torch.randn(shape[1:], generator=torch.Generator("cpu").manual_seed(int(s)))
                for s in seeds]
        return torch.stack(rows).to(device=device, dtype=dtype)

    @torch.no_grad()
    def generate_audio(self, *, src_latents, seed=0, infer_steps=8, shift=None, timesteps=None,
                       **condition):
        started = time.perf_counter()
        encoder_states, _mask, context = self.prepare_condition(src_latents=src_latents,
                                                                **condition)
        encoded = time.perf_counter()
        shift = float(shift or self.config.shift)
        if timesteps is None:
            # The turbo schedule: N points from 1 towards 0, shifted.
            t = torch.linspace(1.0, 0.0, int(infer_steps) + 1)
            timesteps = (shift * t / (1 + (shift - 1) * t))[:-1]
        steps = [float(v) for v in timesteps] + [0.0]
        x = self._noise(src_latents.shape, seed, src_latents.dtype, src_latents.device)
        batch = x.shape[0]
        for now, after in zip(steps[:-1], steps[1:], strict=True):
            t_now = torch.full((batch,), now, dtype=x.dtype, device=x.device)
            velocity = self.decoder(x, t_now, t_now, encoder_states, context, return_dict=False)[0]
            x = x + (after - now) * velocity  # flow-matching Euler step
        done = time.perf_counter()
        return {
            "target_latents": x,
            "time_costs": {
                "encoder_time_cost": encoded - started,
                "diffusion_time_cost": done - encoded,
                "diffusion_per_step_time_cost": (done - encoded) / max(1, len(steps) - 1),
                "total_time_cost": done - started,
            },
        }
