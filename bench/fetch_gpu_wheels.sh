#!/usr/bin/env bash
# Wheels the GPU machine's image lacks (it has JAX, PyTorch, numpy, scikit-learn, scipy, pillow, rich, pyyaml).
set -euo pipefail
grep -qx '/.whl/' .git/info/exclude || echo /.whl/ >> .git/info/exclude
for pkg in keras==3.15.1 namex==0.1.0 optree==0.20.0 optuna==5.0.0 sqlalchemy==2.1.9 alembic==1.20.1 \
           colorlog==6.12.0 mako==1.4.3 greenlet h5py==3.14.0; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "$pkg" || python3 -m pip download -q --no-deps -d .whl "$pkg"
done
ls .whl
