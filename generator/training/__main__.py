"""`python -m generator.training` / `torchrun ... -m generator.training`."""
from .cli import main

raise SystemExit(main())
