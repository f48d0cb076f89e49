"""Settings package: `base` reads the environment; `local`, `test`, `production` set defaults."""
