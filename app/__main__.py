import gc

# Off while the command loads (see app.cli.main), from the first import on.
gc.disable()

from app.cli import main  # noqa: E402

main()
