"""One module of exercise checks per chapter (or pair of chapters sharing cases), and the shared
runners; `autograde.registry.TRACKS` lists the checks modules."""
