"""LiteLLM, imported only when a model is used (the import takes ~2 s) and never reaching out:
without `LITELLM_LOCAL_MODEL_COST_MAP` the import fetches a price list from the internet."""

import os
from types import ModuleType


def load_litellm() -> ModuleType:
    """The `litellm` module, configured to use its bundled cost map and to stay quiet."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm
