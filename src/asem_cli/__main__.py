"""``python -m asem_cli``: the ``asem`` command."""

from ._main import main

if __name__ == "__main__":
    raise SystemExit(main())
