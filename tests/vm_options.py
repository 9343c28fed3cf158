"""The "Virtual machine" order form the tests share: region → data centre, a GPU toggle that
shows and requires a GPU model, and memory and GPU that add to the monthly price."""

VM_OPTIONS = [
    {
        "key": "region",
        "label": "Region",
        "type": "choice",
        "choices": ["eu-west", "eu-north"],
        "required": True,
    },
    {
        "key": "data_centre",
        "label": "Data centre",
        "type": "choice",
        "depends_on": "region",
        "choice_map": {"eu-west": ["Dublin 1", "Dublin 2"], "eu-north": ["Stockholm 1"]},
        "required": True,
    },
    {
        "key": "memory_gb",
        "label": "Memory (GB)",
        "type": "choice",
        "choices": ["8", "16", "32"],
        "default": "8",
        "required": True,
        "prices": {"16": {"monthly": "5.00"}, "32": {"monthly": "10.00"}},
    },
    {
        "key": "gpu",
        "label": "GPU",
        "type": "boolean",
        "default": False,
        "prices": {"true": {"monthly": "40.00", "one_time": "25.00"}},
    },
    {
        "key": "gpu_model",
        "label": "GPU model",
        "type": "choice",
        "choices": ["T4", "A100"],
        "visible_when": {"field": "gpu", "equals": True},
        "required_when": {"field": "gpu", "equals": True},
    },
]
