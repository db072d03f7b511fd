"""The output tap the overlays share: SGLang's TokenizerManager.generate_request, wrapped so that an
overlay's per-request bookkeeping sees every engine output (the `content` dict with output_ids and
meta_info) before the chat code turns it into chunks. The overlay's chat patch marks its request
(the GenerateReqInput) with an attribute; requests without it pass through untouched."""
from __future__ import annotations

import contextlib
from typing import Any, Callable


def tap_engine_outputs(module, attr: str, feed: Callable[[Any, dict], None]) -> None:
    """Patch `module.TokenizerManager` so that `feed(tap, content)` runs for each output of a request
    whose `attr` holds `tap`."""
    cls = module.TokenizerManager
    upstream = cls.generate_request

    async def generate_request(self, obj, request=None):
        tap = getattr(obj, attr, None)
        async with contextlib.aclosing(upstream(self, obj, request)) as outputs:
            async for content in outputs:
                if tap is not None:
                    feed(tap, content)
                yield content

    cls.generate_request = generate_request
