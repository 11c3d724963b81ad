"""One module of exercise checks per track; `autograde.registry.TRACKS` lists them."""
